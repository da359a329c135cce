"""Hidden inputs for module 6 and the quantized models the student saved (made once per grading:
quantizing is the slow part)."""

import json
from pathlib import Path

import pytest

from autograder.api import StudentError

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def inputs() -> dict:
    return json.loads((DATA / "inputs.json").read_text())


def saved_quantized(student, mode: str) -> tuple[dict, Path]:
    """Ask the student's code to quantize SmolLM2 as `mode` and save it; return its report and the folder.

    Session-scoped below: a failure is raised again, as the student's, in every test that needs it."""
    report = student.call("save_quantized", student.asset("smollm2"), mode, student.scratch(mode))
    if not isinstance(report, dict):
        raise StudentError("save_quantized() must return a dict")
    return report, student.scratch_path(mode)


@pytest.fixture(scope="session")
def saved_int8(student):
    return saved_quantized(student, "int8")


@pytest.fixture(scope="session")
def saved_nf4(student):
    return saved_quantized(student, "nf4")
