"""Hidden inputs for module 8: a test split with people, places and companies the student never
saw (written by make_split.py), and the student's model, trained once per grading."""

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
TRAIN_TIMEOUT = 1200  # seconds; ~90 s on 2 free cores, several times that when many jobs share them


@pytest.fixture(scope="session")
def hidden_split() -> list[dict]:
    return [json.loads(line) for line in (DATA / "test.jsonl").read_text().splitlines()]


@pytest.fixture(scope="session")
def trained_model(student, seed) -> Path:
    """Runs the student's train_qa() once; a failure fails every test that needs the model."""
    student.call(
        "train_qa",
        student.asset("qa-data"),
        student.asset("minilm"),
        student.scratch("qa-model"),
        seed=seed,
        timeout=TRAIN_TIMEOUT,
    )
    return student.scratch_path("qa-model")
