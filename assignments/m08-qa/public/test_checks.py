"""Public checks for module 8: run them with `course check m08-qa`.

They use the handout's example. The hidden tests use other contexts and logits, train your model
and score it on questions about people it has never seen.
"""

from autograder.api import points

CONTEXT = (
    "This is Anna Costa. She was born in Lyon. She works as a chef at Acme Corp. "
    "Her favourite food is paella."
)
EXAMPLE = {
    "id": ["x"],
    "question": ["Where does Anna Costa work?"],
    "context": [CONTEXT],
    "answers": [{"text": ["Acme Corp"], "answer_start": [CONTEXT.index("Acme Corp")]}],
}


@points(1)
def test_windows_and_positions(student):
    """prepare_train_features() cuts the handout's context into 3 windows of 24 tokens; the answer is in
    windows 2 and 3."""
    out = student.call("prepare_train_features", student.tokenizer("minilm"), EXAMPLE, 24, 8)
    assert [len(ids) for ids in out["input_ids"]] == [24, 24, 24], "expected 3 windows padded to 24 tokens"
    assert out["start_positions"] == [0, 18, 11] and out["end_positions"] == [0, 20, 13], (
        f"got start_positions {out['start_positions']} and end_positions {out['end_positions']}"
    )
    assert out["example_index"] == [0, 0, 0]


@points(1)
def test_best_span_skips_the_question(student):
    """best_span() never starts an answer in the question, even when its logit there is highest."""
    # tokens: [CLS] where ? [SEP] in lyon . [SEP]; only 4-6 are context
    offsets = [None, None, None, None, [0, 2], [3, 7], [7, 8], None]
    start = [0.0, 9.0, 0.0, 0.0, 1.0, 5.0, 0.0, 0.0]
    end = [0.0, 0.0, 9.0, 0.0, 0.0, 5.0, 1.0, 0.0]
    out = student.call("best_span", start, end, offsets, "in lyon.")
    assert out["text"] == "lyon" and (out["start"], out["end"]) == (3, 7), f"got {out}"
    assert abs(out["score"] - 10.0) < 1e-9
