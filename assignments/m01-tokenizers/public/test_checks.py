"""Public checks for module 1: run them with `course check m01-tokenizers`.

They use the examples from the handout. The hidden tests use other texts and check more.
"""

from autograder.api import points


@points(1)
def test_encode_hello(student):
    """encode() gives [CLS] hello world [SEP] for MiniLM."""
    assert student.call("encode", student.tokenizer("minilm"), "Hello world") == [101, 7592, 2088, 102]


@points(1)
def test_subwords(student):
    """subword_tokens() splits 'tokenizers' into WordPiece pieces."""
    assert student.call("subword_tokens", student.tokenizer("minilm"), "tokenizers") == [
        "token",
        "##izer",
        "##s",
    ]


@points(1)
def test_batch_shape(student):
    """encode_batch() returns rows of exactly max_length ids, masked on padding."""
    out = student.call("encode_batch", student.tokenizer("minilm"), ["a b", "one two three four five six"], 5)
    assert [len(r) for r in out["input_ids"]] == [5, 5], "each row must have max_length ids"
    assert out["attention_mask"][0] == [1, 1, 1, 1, 0], "attention_mask must be 0 on the padding position"


@points(1)
def test_left_padding(student):
    """pad_for_generation() pads prompts on the left."""
    out = student.call("pad_for_generation", student.tokenizer("smollm2"), ["Hi", "Hello there, friend"])
    assert out["attention_mask"][0][-1] == 1 and out["attention_mask"][0][0] == 0, "pad on the left"


@points(1)
def test_train_bpe(student, public_data):
    """train_tokenizer() returns a serialised BPE tokenizer with [UNK] at id 0."""
    import json

    texts = (public_data / "corpus.txt").read_text().splitlines()
    spec = json.loads(student.call("train_tokenizer", texts, "bpe", 200))
    assert spec["model"]["type"] == "BPE"
    assert spec["added_tokens"][0]["content"] == "[UNK]" and spec["added_tokens"][0]["id"] == 0
