"""Hidden inputs for module 2: texts, queries and prompts the student has not seen."""

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def hidden_inputs() -> dict:
    return json.loads((DATA / "inputs.json").read_text())


@pytest.fixture(scope="session")
def corpus(public_data) -> list[str]:
    return json.loads((public_data / "corpus.json").read_text())["corpus"]
