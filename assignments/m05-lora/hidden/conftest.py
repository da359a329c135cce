"""Hidden inputs for module 5: tickets the student never saw (drawn by builders/tickets.py with
another seed, disjoint from the public split), the trusted base model, and the student's adapter,
trained once per grading."""

import json
from pathlib import Path

import pytest

from autograder.api import StudentError

DATA = Path(__file__).parent / "data"
TRAIN_SECONDS = 1800  # 3 epochs of 120 tickets: ~4 CPU-minutes; a shared machine may give a fraction of that


@pytest.fixture(scope="session")
def hidden_tickets() -> list[dict]:
    return [json.loads(line) for line in (DATA / "tickets.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture(scope="session")
def trusted_base(assets):
    """(tokenizer, model): SmolLM2 loaded here, from the course's own copy."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = assets.path("smollm2")
    return AutoTokenizer.from_pretrained(path), AutoModelForCausalLM.from_pretrained(path).eval()


@pytest.fixture(scope="session")
def trained(student, seed):
    """The student's finetune_lora() report and the folder its adapter was saved to.

    Session-scoped: a failure is raised again, as the student's, in every test that needs it."""
    report = student.call("finetune_lora", student.asset("smollm2"), student.asset("tickets"),
                          student.scratch("adapter"), 3, seed, timeout=TRAIN_SECONDS)
    if not isinstance(report, dict):
        raise StudentError("finetune_lora() must return a dict")
    return report, student.scratch_path("adapter")
