"""Public checks for module 7: run them with `course check m07-ner`.

They use the handout's examples. The hidden tests use other sentences, train your model and score
it on sentences with names and templates it has never seen.
"""

from autograder.api import points

WORDS = ["Hiroshi", "Tanaka", "joined", "Zephyr", "Systems", "in", "Ouagadougou", "."]
TAGS = [1, 2, 0, 3, 4, 0, 5, 0]  # B-PER I-PER O B-ORG I-ORG O B-LOC O


@points(1)
def test_alignment_example(student):
    """tokenize_and_align_labels() aligns the handout's sentence: -100 on [CLS], [SEP] and continuations."""
    out = student.call(
        "tokenize_and_align_labels", student.tokenizer("minilm"), {"tokens": [WORDS], "ner_tags": [TAGS]}
    )
    # [CLS] hiroshi tanaka joined ze ##phy ##r systems in ou ##aga ##dou ##go ##u . [SEP]
    assert out["labels"] == [[-100, 1, 2, 0, 3, -100, -100, 4, 0, 5, -100, -100, -100, -100, 0, -100]], (
        f"labels are {out['labels']}"
    )


def _logits(ids: list[int]) -> list[list[float]]:
    return [[5.0 if k == i else 0.0 for k in range(9)] for i in ids]


@points(1)
def test_entity_level_f1(student):
    """compute_metrics() counts an entity only when its whole span is right."""
    labels = [[-100, 1, 2, 0, 5, -100]]  # [CLS] B-PER I-PER O B-LOC [SEP]
    logits = [_logits([0, 1, 0, 0, 5, 0])]  # the person's second word is missed
    out = student.call("compute_metrics", logits, labels)
    assert abs(out["f1"] - 0.5) < 1e-9, (
        f"f1 should be 0.5 (1 of 2 entities right on each side), got {out['f1']}"
    )
    assert abs(out["precision"] - 0.5) < 1e-9 and abs(out["recall"] - 0.5) < 1e-9
