"""Public checks for module 5: run them with `course check m05-lora`.

Quick ones: they do not train. The hidden tests train your adapter once, read it as data, test
it on tickets you have not seen and measure the memory of LoRA and full fine-tuning.
"""

from autograder.api import points


@points(1)
def test_tokenize_example(student):
    """tokenize_example() masks the prompt and ends with the team and the end token."""
    out = student.call("tokenize_example", student.tokenizer("smollm2"), "My parcel is late.", "shipping")
    assert out["input_ids"][-2:] == [12497, 2], "the ids must end with ' shipping' (12497) and <|im_end|> (2)"
    assert out["labels"][-2:] == [12497, 2] and set(out["labels"][:-2]) == {-100}, (
        "only the answer is labelled"
    )


@points(1)
def test_trainable_report(student):
    """trainable_report() finds the LoRA parameters: 0.34% of SmolLM2."""
    out = student.call("trainable_report", student.model("smollm2", "AutoModelForCausalLM"))
    assert out["trainable"] == 460800, (
        f"r=8 on q_proj and v_proj of 30 layers gives 460,800 parameters, got {out}"
    )


@points(1)
def test_evaluate_base(student):
    """evaluate() runs on two validation tickets with the base model."""
    examples = [
        {"ticket": "I was charged twice for my Pro subscription.", "team": "billing"},
        {"ticket": "The app crashes every time I open the export page.", "team": "technical"},
    ]
    out = student.call(
        "evaluate", student.model("smollm2", "AutoModelForCausalLM"), student.tokenizer("smollm2"), examples
    )
    assert 0 <= out["accuracy"] <= 1 and out["answer_loss"] > 0, f"got {out}"
