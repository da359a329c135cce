"""Hidden inputs for module 4, and the trusted copy of SmolLM2 the graders check against."""

import json
import random
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def inputs() -> dict:
    return json.loads((DATA / "inputs.json").read_text())


@pytest.fixture(scope="session")
def trusted_lm(assets):
    """(tokenizer, model) loaded in the trusted process from the course's own copy of SmolLM2."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = assets.path("smollm2")
    return AutoTokenizer.from_pretrained(path), AutoModelForCausalLM.from_pretrained(path).eval()


@pytest.fixture(scope="session")
def hidden_logits(seed) -> list[list[float]]:
    """Logit vectors the student has never seen, different for every grading seed."""
    rng = random.Random(seed * 7919 + 4)
    return [
        [rng.gauss(0.0, scale) for _ in range(size)] for size, scale in ((12, 1.0), (40, 2.5), (200, 4.0))
    ]
