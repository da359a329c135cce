"""Hidden inputs for module 1: texts the student has not seen, for both tokenizers."""

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def hidden_texts() -> dict:
    return json.loads((DATA / "texts.json").read_text())


@pytest.fixture(scope="session", params=["minilm", "smollm2"])
def tokenizer_name(request) -> str:
    return request.param
