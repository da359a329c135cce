"""The trusted grader's memory is not the student's to set (issue 19).

A tiny course whose hidden test loads what the student's save() wrote, as m03's grader does. The
attack: a config.json declaring hidden size 4096, 6 layers and intermediate size 16384 beside a
safetensors file holding only the classifier (1.35 billion parameters left to initialise), and a
variant sized to exceed any machine. Each is graded by `course grade`, the way Gradescope runs it;
the grading process's peak memory is the OS's figure (ru_maxrss) that results.json records.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO

TINY = {
    "model_type": "bert",
    "vocab_size": 64,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
}

COURSE = """
course: {id: memory-course, title: Memory, term: test}
defaults:
  limits: {wall: 120s, call: 60s, memory: 2GiB, grader_memory: 1GiB}
modules:
  - id: saver
    title: Saves a model
    points: 4
    files: [saver.py]
"""

REFERENCE = '''
def ping() -> int:
    """Return 1."""
    ### BEGIN SOLUTION
    return 1
    ### END SOLUTION


def save(source: str, folder: str) -> None:
    """Save the tiny BERT classifier found in source to folder."""
    ### BEGIN SOLUTION
    import shutil

    shutil.copytree(source, folder)
    ### END SOLUTION
'''

HIDDEN = f'''
from transformers import AutoModelForSequenceClassification

from autograder.api import load_saved_model, points

EXPECTED = {TINY!r}


@points(1)
def test_a_ping(student):
    """ping() returns 1."""
    assert student.call("ping") == 1, "ping() should return 1"


@points(2)
def test_b_saved_model(student):
    """save() saves a tiny BERT classifier."""
    student.call("save", student.data("tiny"), student.scratch("model"))
    model = load_saved_model(
        student.scratch_path("model"),
        "AutoModelForSequenceClassification",
        expected=EXPECTED,
        allow={{"num_labels": 10}},
    )
    assert model.config.hidden_size == 32, "the saved model is not the tiny BERT"


@points(1)
def test_c_unchecked_load(student):
    """A grader that forgets the checks: only the grader's memory limit stands in the way."""
    folder = student.scratch_path("model")
    if (folder / "UNCHECKED.txt").exists():
        AutoModelForSequenceClassification.from_pretrained(folder)
'''

ATTACK = '''
import json, os, struct


def ping():
    return 1


def save(source, folder):
    """A few kilobytes that ask for {params} of parameters: only the classifier's tensors are saved."""
    os.makedirs(folder, exist_ok=True)
    config = {config}
    with open(os.path.join(folder, "config.json"), "w") as fh:
        json.dump(config, fh)
    hidden = config["hidden_size"]
    header = {{
        "classifier.weight": {{"dtype": "F32", "shape": [2, hidden], "data_offsets": [0, 8 * hidden]}},
        "classifier.bias": {{"dtype": "F32", "shape": [2], "data_offsets": [8 * hidden, 8 * hidden + 8]}},
    }}
    raw = json.dumps(header).encode()
    with open(os.path.join(folder, "model.safetensors"), "wb") as fh:
        fh.write(struct.pack("<Q", len(raw)) + raw + bytes(8 * hidden + 8))
    if {unchecked}:
        open(os.path.join(folder, "UNCHECKED.txt"), "w").close()
'''

ISSUE_ATTACK = {**TINY, "hidden_size": 4096, "num_hidden_layers": 6, "intermediate_size": 16384}
BEYOND_MACHINE = {**TINY, "hidden_size": 65536, "num_hidden_layers": 64, "intermediate_size": 262144}
HEADROOM = 300 * 1024**2  # "within a few hundred MB of a normal grading"


@pytest.fixture(scope="module")
def memory_course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("memory-course")
    files = {
        "course.yaml": COURSE,
        "reference/saver/saver.py": REFERENCE,
        "assignments/saver/README.md": "# Saver\n",
        "assignments/saver/hidden/test_saver.py": HIDDEN,
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text).lstrip())
    (root / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text())
    (root / "autograder").symlink_to(REPO / "autograder")
    from transformers import BertConfig, BertForSequenceClassification

    model = BertForSequenceClassification(BertConfig(**TINY))
    model.save_pretrained(root / "assignments/saver/data/tiny")
    for path in (root / "assignments/saver/data/tiny").iterdir():  # safetensors writes 0600
        path.chmod(0o644)
    return root


def grade_cli(course: Path, source: str, out: Path) -> tuple[dict, subprocess.CompletedProcess]:
    sub = out.parent / f"{out.name}-submission"
    sub.mkdir(parents=True)
    (sub / "saver.py").write_text(textwrap.dedent(source))
    done = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "grade", "saver", str(sub), "--out", str(out), "--quiet"],
        env={**os.environ, "COURSE_ROOT": str(course)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    return json.loads((out / "results.json").read_text()), done


@pytest.fixture(scope="module")
def normal(memory_course: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The reference's grading: the peak memory every attack is measured against."""
    source = (memory_course / "reference/saver/saver.py").read_text()
    results, done = grade_cli(memory_course, source, tmp_path_factory.mktemp("normal") / "out")
    assert done.returncode == 0, done.stderr
    assert results["score"] == 4, results
    return results


def attack(config: dict, unchecked: bool = False) -> str:
    params = "billions" if config["hidden_size"] > 1024 else "millions"
    return ATTACK.format(config=repr(config), params=params, unchecked=unchecked)


@pytest.mark.parametrize("config", [ISSUE_ATTACK, BEYOND_MACHINE], ids=["issue-4096", "beyond-machine"])
def test_huge_config_is_refused_before_loading(memory_course, normal, tmp_path, config):
    results, done = grade_cli(memory_course, attack(config), tmp_path / "out")
    assert done.returncode == 0, done.stderr
    tests = {t["extra_data"]["id"]: t for t in results["tests"]}
    assert tests["test_a_ping"]["status"] == "passed"
    saved = tests["test_b_saved_model"]
    assert saved["status"] == "failed"
    assert saved["output"] == (
        f"your saved config says hidden_size {config['hidden_size']}; the expected model has 32"
    )
    assert saved["extra_data"]["seconds"] < 30
    peak, usual = (
        results["extra_data"]["grader_peak_memory_bytes"],
        normal["extra_data"]["grader_peak_memory_bytes"],
    )
    assert peak < usual + HEADROOM, (
        f"the attack's grading peaked at {peak:,} bytes, a normal one at {usual:,}"
    )


def test_what_checks_miss_fails_one_grading_not_the_machine(memory_course, normal, tmp_path):
    """A grader loading the attack with no checks: the grading's own memory limit stops it, the test
    already finished keeps its point, the rest say the grader ran out of memory."""
    results, done = grade_cli(memory_course, attack(ISSUE_ATTACK, unchecked=True), tmp_path / "out")
    assert done.returncode == 0, done.stderr
    tests = {t["extra_data"]["id"]: t for t in results["tests"]}
    assert tests["test_a_ping"]["status"] == "passed" and results["score"] == 1
    unchecked = tests["test_c_unchecked_load"]
    assert unchecked["status"] == "failed"
    oom = results["extra_data"].get("grader_out_of_memory")
    if oom is not None:  # a cgroup of its own (root): the kernel killed the grading at its limit
        assert unchecked["output"].startswith("The grader ran out of memory (1,024 MiB)")
        assert oom["limit_bytes"] == 1024**3 and 0 < oom["peak_bytes"] <= 1024**3 + 64 * 1024**2
    else:  # RLIMIT_AS: the allocation failed inside the grading, which carried on
        assert "memory" in unchecked["output"] or "grader itself" in unchecked["output"], unchecked["output"]
