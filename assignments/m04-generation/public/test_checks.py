"""Public checks for module 4: run them with `course check m04-generation`.

They use the handout's examples. The hidden tests use other prompts, other logits and check more.
"""

from autograder.api import points

LM = "AutoModelForCausalLM"


@points(1)
def test_loading(student):
    """load_generator() gives SmolLM2 with its language-modelling head."""
    report = student.call("loading_report", student.asset("smollm2"))
    assert report["model_class"] == "LlamaForCausalLM", "use AutoModelForCausalLM"
    assert report["padding_side"] == "left"


@points(1)
def test_chat_reply(student):
    """chat_reply() answers the handout's question."""
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    reply = student.call(
        "chat_reply", student.model("smollm2", LM), student.tokenizer("smollm2"), messages, 10
    )
    assert reply == "The capital of France is Paris.", f"got {reply!r}"


@points(1)
def test_filter_probs(student):
    """filter_probs() on the handout's four logits: top_k=2 keeps two tokens, renormalised."""
    probs = student.call("filter_probs", [2.0, 1.0, 0.5, -1.0], 1.0, 2, 1.0)
    assert [p > 0 for p in probs] == [True, True, False, False], f"got {probs}"
    assert abs(sum(probs) - 1) < 1e-6, "renormalise"
    assert abs(probs[0] - 0.7310586) < 1e-5, f"got {probs}"


@points(1)
def test_greedy_decode(student):
    """greedy_decode() finishes the handout's chat prompt with Paris and the end-of-sequence token."""
    prompt = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    ids = student.call(
        "greedy_decode", student.model("smollm2", LM), student.tokenizer("smollm2"), prompt, 12
    )
    assert ids == [504, 3575, 282, 4649, 314, 7042, 30, 2], f"got {ids}"


@points(1)
def test_perplexity(student):
    """perplexity() of the handout's sentence is about 55."""
    ppl = student.call(
        "perplexity",
        student.model("smollm2", LM),
        student.tokenizer("smollm2"),
        "The quick brown fox jumps over the lazy dog.",
    )
    assert abs(ppl - 55.24) < 0.1, f"got {ppl}"
