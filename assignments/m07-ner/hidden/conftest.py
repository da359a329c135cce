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
def trained(student, seed) -> dict:
    """Runs the student's train_ner() once: {"report": what it returned, "path": the saved folder}.

    A failure fails every test that needs the model."""
    report = student.call(
        "train_ner",
        student.asset("ner-data"),
        student.asset("minilm"),
        student.scratch("ner-model"),
        seed=seed,
        timeout=TRAIN_TIMEOUT,
    )
    return {"report": report, "path": student.scratch_path("ner-model")}


@pytest.fixture(scope="session")
def trained_model(trained) -> Path:
    return trained["path"]
