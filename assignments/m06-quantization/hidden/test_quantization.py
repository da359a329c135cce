"""Hidden graders for module 6. The quantized models the student saved are loaded here, in the
trusted process, as safetensors + JSON: footprint and perplexity are measured on this side."""

import math

import pytest
import torch

from autograder.api import (
    StudentError,
    load_saved_model,
    load_saved_tensors,
    load_saved_tokenizer,
    points,
    read_saved_json,
    record_metric,
    same_plain,
)

LM = "AutoModelForCausalLM"
BNB_LAYERS = ("Linear8bitLt", "Linear4bit")


def trusted_perplexity(model, tokenizer, text: str) -> float:
    ids = tokenizer(text, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        return math.exp(model(input_ids=ids, labels=ids).loss.item())


@pytest.fixture(scope="session")
def fp32_baseline(assets, inputs) -> dict:
    """Footprint and perplexity of SmolLM2 in fp32, measured here."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = assets.path("smollm2")
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    return {
        "footprint_bytes": model.get_memory_footprint(),
        "perplexity": trusted_perplexity(model, AutoTokenizer.from_pretrained(path), inputs["ppl_text"]),
    }


def quantization_config(folder) -> dict:
    config = read_saved_json(folder / "config.json")
    qc = config.get("quantization_config")
    if not isinstance(qc, dict):
        raise StudentError(
            f"the model saved in {folder.name}/ is not quantized: its config has no quantization_config"
        )
    return qc


def bnb_layers(model) -> int:
    return sum(type(m).__name__ in BNB_LAYERS for m in model.modules())


def number(value, what: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise StudentError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def check_saved(
    saved, mode: str, max_share: float, max_ppl_ratio: float, fp32_baseline, assets, inputs
) -> None:
    """The saved model's footprint and perplexity, measured here, against fp32's and against the report."""
    from transformers import AutoTokenizer

    report, folder = saved
    model = load_saved_model(folder, LM, expected="smollm2")
    footprint = model.get_memory_footprint()
    assert report.get("footprint_bytes") == footprint, (
        f"footprint_bytes is {report.get('footprint_bytes')}; "
        f"the saved model's get_memory_footprint() is {footprint}"
    )
    assert report.get("quantized_layers") == bnb_layers(model), (
        f"quantized_layers is {report.get('quantized_layers')}; "
        f"the model has {bnb_layers(model)} bitsandbytes layers"
    )
    kept = {
        str(p.dtype)
        for m in model.modules()
        if type(m).__name__ not in BNB_LAYERS
        for p in m.parameters(recurse=False)
    }
    assert kept == {"torch.float32"}, (
        f"the {mode} model keeps its embeddings, norms and output head in {', '.join(sorted(kept))}: "
        "only the blocks' linear layers are quantized, the rest stays in full precision (float32): "
        "load without a dtype"
    )
    share = footprint / fp32_baseline["footprint_bytes"]
    assert share <= max_share, (
        f"the {mode} model takes {share:.0%} of the fp32 memory; expected at most {max_share:.0%}"
    )
    ppl = trusted_perplexity(model, AutoTokenizer.from_pretrained(assets.path("smollm2")), inputs["ppl_text"])
    record_metric(f"{mode}_footprint_bytes", footprint)
    record_metric(f"{mode}_perplexity", round(ppl, 3))
    record_metric("fp32_footprint_bytes", fp32_baseline["footprint_bytes"])
    record_metric("fp32_perplexity", round(fp32_baseline["perplexity"], 3))
    assert ppl <= max_ppl_ratio * fp32_baseline["perplexity"], (
        f"{mode} perplexity {ppl:.2f} is more than {max_ppl_ratio}x fp32's {fp32_baseline['perplexity']:.2f}"
    )


@points(3)
def test_int8_model(saved_int8, fp32_baseline, assets, inputs):
    """save_quantized(..., "int8") saves an LLM.int8() model well under half the fp32 size, with nearly
    fp32 perplexity."""
    qc = quantization_config(saved_int8[1])
    assert qc.get("load_in_8bit") is True, (
        "the saved model is not in 8-bit: BitsAndBytesConfig(load_in_8bit=True)"
    )
    check_saved(saved_int8, "int8", 0.5, 1.05, fp32_baseline, assets, inputs)


@points(3)
def test_nf4_model(saved_nf4, fp32_baseline, assets, inputs):
    """save_quantized(..., "nf4") saves a 4-bit NF4 model about a third of the fp32 size, still a usable
    language model."""
    qc = quantization_config(saved_nf4[1])
    assert qc.get("load_in_4bit") is True, (
        "the saved model is not in 4-bit: BitsAndBytesConfig(load_in_4bit=True)"
    )
    assert qc.get("bnb_4bit_quant_type") == "nf4", (
        f"the 4-bit type is {qc.get('bnb_4bit_quant_type')!r}: the default is fp4; "
        "ask for bnb_4bit_quant_type='nf4'"
    )
    assert qc.get("bnb_4bit_compute_dtype") == "float32", (
        f"the 4-bit model computes in {qc.get('bnb_4bit_compute_dtype')!r}: on a CPU the weights are "
        "dequantized to float32 for each matrix multiplication (bnb_4bit_compute_dtype=torch.float32)"
    )
    check_saved(saved_nf4, "nf4", 0.36, 1.8, fp32_baseline, assets, inputs)


@points(3)
def test_measure(student, saved_int8, saved_nf4, fp32_baseline, inputs):
    """measure() reports the footprint, perplexity and speed of fp32, 8-bit and 4-bit models as they are."""
    text = inputs["ppl_text"]
    for mode, where in (
        ("fp32", student.asset("smollm2")),
        ("int8", student.scratch("int8")),
        ("nf4", student.scratch("nf4")),
    ):
        got = student.call("measure", where, text, 4)
        if not isinstance(got, dict):
            raise StudentError("measure() must return a dict")
        if mode == "fp32":
            want_footprint, want_ppl = fp32_baseline["footprint_bytes"], fp32_baseline["perplexity"]
        else:
            model = load_saved_model(student.scratch_path(mode), LM, expected="smollm2")
            want_footprint = model.get_memory_footprint()
            want_ppl = trusted_perplexity(
                model, load_saved_tokenizer(student.scratch_path(mode), expected="smollm2"), text
            )
        assert got.get("footprint_bytes") == want_footprint, (
            f"{mode}: footprint_bytes is {got.get('footprint_bytes')}, "
            f"get_memory_footprint() gives {want_footprint}"
        )
        ppl = number(got.get("perplexity"), f"{mode}: perplexity")
        assert same_plain(ppl, want_ppl, rel=1e-3), (
            f"{mode}: perplexity is {ppl:.3f}, expected {want_ppl:.3f}"
        )
        speed = number(got.get("seconds_per_token"), f"{mode}: seconds_per_token")
        # a token of a 135M-parameter model takes ~0.3 GFLOP: no CPU thread makes one in 0.1 ms
        assert 1e-4 < speed < 60, (
            f"{mode}: {speed} seconds per token is not a plausible measurement: time a generate() call "
            "that makes max_new_tokens tokens and divide by their number"
        )
        record_metric(f"{mode}_seconds_per_token", round(speed, 4))


@points(3)
def test_quantized_classifier(student, assets, inputs):
    """quantize_classifier() quantizes the encoder to 8-bit but keeps the new classifier head in full
    precision."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    reviews = inputs["reviews"]
    got = student.call("quantize_classifier", student.asset("minilm"), reviews, student.scratch("classifier"))
    folder = student.scratch_path("classifier")
    qc = quantization_config(folder)
    assert qc.get("load_in_8bit") is True, "the classifier is not saved in 8-bit"
    model = load_saved_model(
        folder, "AutoModelForSequenceClassification", expected="minilm", allow={"num_labels": 100}
    )
    assert model.config.num_labels == 2, (
        f"the classifier has {model.config.num_labels} labels: load it with num_labels=2"
    )
    assert bnb_layers(model) > 0, "the encoder's linear layers are not quantized"
    assert type(model.classifier) is torch.nn.Linear and model.classifier.weight.dtype == torch.float32, (
        "the classifier head was quantized: leave it in full precision (llm_int8_skip_modules=['classifier'])"
    )
    tokenizer = AutoTokenizer.from_pretrained(assets.path("minilm"))
    enc = tokenizer(reviews, return_tensors="pt", padding=True)
    with torch.no_grad():
        want = model(**enc).logits
    if (
        not isinstance(got, list)
        or len(got) != len(reviews)
        or any(not isinstance(row, list) or len(row) != 2 for row in got)
    ):
        raise StudentError(
            "quantize_classifier() must return one [negative, positive] pair of logits per text"
        )
    assert same_plain(got, want.tolist(), abs_=1e-4), (
        "the returned logits are not the saved classifier's logits"
    )
    # the same head on the fp32 encoder: 8-bit must barely move the logits
    fp32 = AutoModelForSequenceClassification.from_pretrained(assets.path("minilm"), num_labels=2).eval()
    if not (folder / "model.safetensors").is_file():
        raise StudentError("the saved classifier has no single model.safetensors file")
    head = load_saved_tensors(
        folder / "model.safetensors", expected=model.config, cls="AutoModelForSequenceClassification"
    )
    fp32.classifier.load_state_dict(
        {"weight": head["classifier.weight"].float(), "bias": head["classifier.bias"].float()}
    )
    with torch.no_grad():
        reference = fp32(**enc).logits
    drift = (want - reference).abs().max().item()
    record_metric("classifier_int8_logit_drift", round(drift, 5))
    assert drift <= 0.25 * reference.abs().max().item() + 1e-3, (
        f"the 8-bit classifier's logits are {drift:.4f} away from the same head on the fp32 encoder"
    )
