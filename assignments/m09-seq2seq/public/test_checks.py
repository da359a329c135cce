"""Public checks for module 9: run them with `course check m09-seq2seq`.

They use the handout's examples and never train. The hidden tests use other dates, check the
decoding functions on a model the grader builds, and score your trained model on 400 unseen dates.
"""

from autograder.api import points

TOKENIZER = "dates-tokenizer"


@points(1)
def test_preprocess_example(student):
    """preprocess() gives the target's ids as labels, ending with </s> (id 1)."""
    out = student.call("preprocess", student.tokenizer(TOKENIZER), ["21 March 1999"], ["1999-03-21"])
    assert set(out) >= {"input_ids", "attention_mask", "labels"}, (
        "return input_ids, attention_mask and labels"
    )
    assert out["labels"][0][-1] == 1, "labels must end with the end-of-sequence token </s>"
    assert out["labels"] != out["input_ids"], "labels are the target's ids, not the source's"


@points(1)
def test_collate_pads_labels_with_minus_100(student):
    """collate() pads the shorter label row with -100."""
    rows = [
        {"input_ids": [5, 6, 1], "attention_mask": [1, 1, 1], "labels": [7, 1]},
        {"input_ids": [5, 1], "attention_mask": [1, 1], "labels": [7, 8, 9, 1]},
    ]
    out = student.call("collate", student.tokenizer(TOKENIZER), rows)
    assert out["labels"][0] == [7, 1, -100, -100], "pad labels with -100"
    assert out["input_ids"][1] == [5, 1, 0], "pad input_ids with the pad token (id 0)"


@points(1)
def test_config_size(student):
    """make_config() is a T5 with 2 encoder and 2 decoder layers, sized to the tokenizer."""
    cfg = student.call("make_config", student.tokenizer(TOKENIZER))
    assert cfg["model_type"] == "t5" and cfg["d_model"] == 128
    assert cfg["num_layers"] == 2 and cfg["num_decoder_layers"] == 2
    assert cfg["vocab_size"] < 1000, "vocab_size must match the date tokenizer, not T5's 32,128"


@points(1)
def test_exact_match_ignores_label_padding(student):
    """exact_match() swaps -100 for the pad id before decoding."""
    score = student.call(
        "exact_match", student.tokenizer(TOKENIZER), [[0, 5, 1], [0, 6, 1]], [[5, 1], [5, -100]]
    )
    assert isinstance(score, float) and abs(score - 0.5) < 1e-9, (
        "one of the two predictions matches its label"
    )
