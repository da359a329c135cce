"""Public checks for module 2: run them with `course check m02-pipelines`.

They use the examples from the handout. The hidden tests use other texts and check more.
"""

import json
import math

from autograder.api import points

EXAMPLES = ["I love this!", "What a waste of money."]


@points(1)
def test_pipeline_labels(student):
    """pipeline_sentiment() returns a POSITIVE and a NEGATIVE label with probabilities."""
    out = student.call("pipeline_sentiment", student.asset("sentiment"), EXAMPLES)
    assert [r["label"] for r in out] == ["POSITIVE", "NEGATIVE"], f"got {out}"
    assert all(0.5 < r["score"] <= 1 for r in out), "scores are the winning class's probability"


@points(1)
def test_by_hand_agrees(student):
    """sentiment_by_hand() agrees with the pipeline on the handout's examples."""
    piped = student.call("pipeline_sentiment", student.asset("sentiment"), EXAMPLES)
    by_hand = student.call(
        "sentiment_by_hand",
        student.tokenizer("sentiment"),
        student.model("sentiment", "AutoModelForSequenceClassification"),
        EXAMPLES,
    )
    assert [r["label"] for r in by_hand] == [r["label"] for r in piped], "labels differ from the pipeline's"
    assert all(abs(a["score"] - b["score"]) < 1e-4 for a, b in zip(by_hand, piped, strict=True)), (
        "scores differ from the pipeline's"
    )


@points(1)
def test_new_head(student):
    """compare_heads() finds that the classifier head of MiniLM is new."""
    out = student.call("compare_heads", student.asset("minilm"), "Hello world", 2)
    assert out["logits_shape"] == [1, 2] and out["hidden_shape"] == [1, 4, 384], f"got {out}"
    assert out["new_parameters"] == ["classifier.bias", "classifier.weight"], f"got {out['new_parameters']}"


@points(1)
def test_embeddings_are_unit_vectors(student):
    """embed() returns one 384-dimensional unit vector per text."""
    out = student.call(
        "embed", student.tokenizer("minilm"), student.model("minilm"), ["a cat", "a dog sat down"]
    )
    assert len(out) == 2 and len(out[0]) == 384
    assert all(abs(math.sqrt(sum(x * x for x in v)) - 1) < 1e-3 for v in out), "normalise to length 1"


@points(1)
def test_search_finds_the_library(student, public_data):
    """semantic_search() finds the opening hours of the library."""
    corpus = json.loads((public_data / "corpus.json").read_text())["corpus"]
    out = student.call(
        "semantic_search",
        student.tokenizer("minilm"),
        student.model("minilm"),
        corpus,
        ["When does the library open?"],
        2,
    )
    assert out[0][0] == 0, f"the best match should be corpus[0], got {out}"
