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


@pytest.fixture(scope="session")
def train_ner(student):
    """Calls the student's train_ner(), saving to scratch folder `name`: {"report": what it returned,
    "path": the saved folder}."""

    def run(name: str, **kwargs) -> dict:
        report = student.call(
            "train_ner",
            student.asset("ner-data"),
            student.asset("minilm"),
            student.scratch(name),
            **kwargs,
            timeout=TRAIN_TIMEOUT,
        )
        return {"report": report, "path": student.scratch_path(name)}

    return run


@pytest.fixture(scope="session")
def trained(train_ner, seed) -> dict:
    """The student's train_ner() run once with its default epochs and learning rate. A failure fails
    every test that needs the model."""
    return train_ner("ner-model", seed=seed)


@pytest.fixture(scope="session")
def trained_model(trained) -> Path:
    return trained["path"]
