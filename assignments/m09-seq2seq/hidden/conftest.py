"""Hidden inputs for module 9: 400 generated dates none of which is in the training or validation
split (same generator, builders/dates_data.py, another seed), and a fixed T5 the grader builds."""

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
TRAIN_TIMEOUT = 1800  # ~80 s on 2 idle cores; a busy machine is 10x slower or worse


@pytest.fixture(scope="session")
def hidden_pairs() -> list[dict[str, str]]:
    return [json.loads(line) for line in (DATA / "test.jsonl").read_text().splitlines()]


@pytest.fixture(scope="session")
def given_model(student, reference, assets, seed):
    """A randomly initialised date T5, saved by the grader for the decoding tests.

    Initialised 5x wider than T5's default: at the default scale the untrained decoder writes only
    <pad>, so every decoding would be "" and no length bound would bind; this one writes a different
    string per input and runs to max_new_tokens. The student's copy sits in their scratch folder;
    the reference decodes its own copy, so nothing the student's code does to the folder reaches
    the trusted side.
    """
    return _random_t5(student, reference, assets, seed, "given-model")


@pytest.fixture(scope="session")
def other_model(student, reference, assets, seed):
    """Another such T5 (the next seed): a function given it must decode with it, not with a model
    kept from an earlier call."""
    return _random_t5(student, reference, assets, seed + 1, "other-model")


def _random_t5(student, reference, assets, seed: int, name: str) -> str:
    import torch
    from transformers import AutoTokenizer, T5Config, T5ForConditionalGeneration

    tokenizer = AutoTokenizer.from_pretrained(assets.path("dates-tokenizer"))
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=128,
        d_ff=512,
        d_kv=32,
        num_heads=4,
        num_layers=2,
        num_decoder_layers=2,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
        initializer_factor=5.0,
    )
    torch.manual_seed(seed)
    model = T5ForConditionalGeneration(config)
    _save_for_both(model, name, student, reference)
    return name


@pytest.fixture(scope="session")
def sampling_model(student, reference, given_model) -> str:
    """The same T5 with a generation_config.json that asks for sampling over 3 beams, as many Hub models
    ship (hot, at temperature 3: this peaked model would otherwise sample its argmax): greedy decoding
    and beam search must say do_sample=False and their num_beams."""
    from transformers import GenerationConfig, T5ForConditionalGeneration

    model = T5ForConditionalGeneration.from_pretrained(reference.scratch_path(given_model))
    model.generation_config = GenerationConfig.from_model_config(model.config)
    model.generation_config.update(do_sample=True, num_beams=3, top_k=0, temperature=3.0)
    _save_for_both(model, "sampling-model", student, reference)
    return "sampling-model"


def _save_for_both(model, name: str, student, reference) -> None:
    """The student's copy sits in their scratch folder, the reference's in its own."""
    folder = student.scratch_path(name)
    model.save_pretrained(folder)
    for path in folder.iterdir():  # safetensors writes 0600: the sandboxed worker runs as another uid
        path.chmod(0o644)
    model.save_pretrained(reference.scratch_path(name))


@pytest.fixture(scope="session")
def trained(student, seed) -> dict:
    """Train the student's model once: {"metrics": what train() returned, "path": the saved folder}."""
    metrics = student.call(
        "train",
        student.tokenizer("dates-tokenizer"),
        student.asset("dates"),
        student.scratch("dates-t5"),
        seed,
        timeout=TRAIN_TIMEOUT,
    )
    return {"metrics": metrics, "path": student.scratch_path("dates-t5")}
