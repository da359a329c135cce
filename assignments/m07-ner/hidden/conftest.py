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
def trained_model(student, seed) -> Path:
    """Runs the student's train_ner() once; a failure fails every test that needs the model."""
    student.call(
        "train_ner",
        student.asset("ner-data"),
        student.asset("minilm"),
        student.scratch("ner-model"),
        seed=seed,
        timeout=TRAIN_TIMEOUT,
    )
    return student.scratch_path("ner-model")
