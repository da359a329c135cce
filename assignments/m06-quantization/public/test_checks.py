"""Public checks for module 6: run them with `course check m06-quantization`.

They check shapes and types on the handout's example. The hidden tests load the models you save
and measure their memory and perplexity themselves.
"""

from autograder.api import points


@points(1)
def test_int8_saved(student):
    """save_quantized() saves SmolLM2 in 8-bit and reports its footprint."""
    report = student.call("save_quantized", student.asset("smollm2"), "int8", student.scratch("int8"))
    assert 150e6 < report["footprint_bytes"] < 260e6, f"an 8-bit SmolLM2 takes about 210 MB, got {report}"
    assert report["quantized_layers"] == 210, "all 210 linear layers of the 30 decoder blocks are quantized"


@points(1)
def test_measure_fp32(student):
    """measure() on fp32 SmolLM2 reports about 538 MB."""
    got = student.call("measure", student.asset("smollm2"), "The quick brown fox jumps over the lazy dog.", 2)
    assert got["footprint_bytes"] == 538060288, f"got {got}"
    assert abs(got["perplexity"] - 55.24) < 0.1, f"got {got}"


@points(1)
def test_classifier(student):
    """quantize_classifier() returns one pair of logits per text."""
    logits = student.call(
        "quantize_classifier", student.asset("minilm"), ["great", "awful"], student.scratch("clf")
    )
    assert len(logits) == 2 and all(len(pair) == 2 for pair in logits), f"got {logits}"
