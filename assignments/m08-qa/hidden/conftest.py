"""Hidden inputs for module 8: a test split with people, places and companies the student never
saw (written by make_split.py), a QA model the grader builds for answer(), and the student's model,
trained once per grading."""

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
TRAIN_TIMEOUT = 1200  # seconds; ~90 s on 2 free cores, several times that when many jobs share them


@pytest.fixture(scope="session")
def hidden_split() -> list[dict]:
    return [json.loads(line) for line in (DATA / "test.jsonl").read_text().splitlines()]


@pytest.fixture(scope="session")
def given_model(student, reference, assets, seed) -> str:
    """MiniLM with a QA head the grader initialises (seeded), saved with its tokenizer for answer().

    answer() is graded on this model, not on the student's own: its untrained head puts high logits
    anywhere, so every window and every span competes, and answer() earns its points even when
    training fails. The head is scaled up so that no two spans tie within float noise. The student
    and the reference each read their own copy.
    """
    return _qa_model(student, reference, assets, seed, "given-qa")


@pytest.fixture(scope="session")
def other_model(student, reference, assets, seed) -> str:
    """Another such model (the next seed's head): answer() given it must answer with it, not with a
    model kept from an earlier call."""
    return _qa_model(student, reference, assets, seed + 1, "other-qa")


def _qa_model(student, reference, assets, seed: int, name: str) -> str:
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    torch.manual_seed(seed)
    model = AutoModelForQuestionAnswering.from_pretrained(assets.path("minilm"))
    with torch.no_grad():
        model.qa_outputs.weight.mul_(50)
    tokenizer = AutoTokenizer.from_pretrained(assets.path("minilm"))
    for folder in (student.scratch_path(name), reference.scratch_path(name)):
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        for path in folder.iterdir():  # safetensors writes 0600: the sandboxed worker runs as another uid
            path.chmod(0o644)
    return name


def _runs_of_train_qa(side, **limits):
    """Calls `side`'s train_qa(), saving to scratch folder `name`: {"report": what it returned,
    "path": the saved folder}. `limits` go to the call (the student's timeout)."""

    def run(name: str, **kwargs) -> dict:
        report = side.call(
            "train_qa",
            side.asset("qa-data"),
            side.asset("minilm"),
            side.scratch(name),
            **kwargs,
            **limits,
        )
        return {"report": report, "path": side.scratch_path(name)}

    return run


@pytest.fixture(scope="session")
def train_qa(student):
    return _runs_of_train_qa(student, timeout=TRAIN_TIMEOUT)


@pytest.fixture(scope="session")
def reference_train_qa(reference):
    return _runs_of_train_qa(reference)


@pytest.fixture(scope="session")
def trained(train_qa, seed) -> dict:
    """The student's train_qa() run once with its default epochs and learning rate. A failure fails
    every test that needs the model."""
    return train_qa("qa-model", seed=seed)


@pytest.fixture(scope="session")
def train_windows(reference, assets) -> int:
    """How many windows prepare_train_features() makes of train.jsonl (the reference's count)."""
    rows = reference.call("read_jsonl", str(assets.path("qa-data") / "train.jsonl"))
    batch = {k: [r[k] for r in rows] for k in ("id", "question", "context", "answers")}
    return len(reference.call("prepare_train_features", reference.tokenizer("minilm"), batch)["input_ids"])


@pytest.fixture(scope="session")
def trained_model(trained) -> Path:
    return trained["path"]
