"""Hidden inputs for module 7: a test split whose names and templates the student never saw
(written by make_split.py), and the student's model, trained once per grading."""

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
TRAIN_TIMEOUT = 1200  # seconds; the reference trains in 35-100 s on 2 cores, 750 s when 8 jobs share them


@pytest.fixture(scope="session")
def hidden_split() -> list[dict]:
    return [json.loads(line) for line in (DATA / "test.jsonl").read_text().splitlines()]


def _runs_of_train_ner(side, **limits):
    """Calls `side`'s train_ner(), saving to scratch folder `name`: {"report": what it returned,
    "path": the saved folder}. `limits` go to the call (the student's timeout)."""

    def run(name: str, **kwargs) -> dict:
        report = side.call(
            "train_ner",
            side.asset("ner-data"),
            side.asset("minilm"),
            side.scratch(name),
            **kwargs,
            **limits,
        )
        return {"report": report, "path": side.scratch_path(name)}

    return run


@pytest.fixture(scope="session")
def train_ner(student):
    return _runs_of_train_ner(student, timeout=TRAIN_TIMEOUT)


@pytest.fixture(scope="session")
def reference_train_ner(reference):
    return _runs_of_train_ner(reference)


@pytest.fixture(scope="session")
def trained(train_ner, seed) -> dict:
    """The student's train_ner() run once with its default epochs and learning rate. A failure fails
    every test that needs the model."""
    return train_ner("ner-model", seed=seed)


@pytest.fixture(scope="session")
def trained_model(trained) -> Path:
    return trained["path"]
