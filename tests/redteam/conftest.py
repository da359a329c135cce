"""A tiny course built for attacking the grader: four one-point tests, tight limits, no models.

Every attack is a small submission graded against it; each case grades in a second or two.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from autograder.grade.runner import grade
from autograder.layout import Layout
from tests.conftest import REPO

LIMITS = {
    "wall": "25s",
    "call": "4s",
    "cpu": "20s",
    "memory": "384MiB",
    "processes": 48,
    "output": "64KiB",
    "output_flood": "16MiB",
    "disk": "8MiB",
}
# In the hidden test, hidden data and reference: must never reach the worker. Random per run, so no
# source file on the machine (another checkout of this repo, say) holds it.
SECRET = f"RT-SECRET-{secrets.token_hex(6)}"

COURSE = f"""
course: {{id: redteam, title: Red team, term: test}}
defaults:
  limits: {json.dumps(LIMITS)}
modules:
  - id: rt
    title: Red-team target
    points: 4
    files: [solution.py]
"""

REFERENCE = f'''
# {SECRET}
def add(a: int, b: int) -> int:
    """Return a + b."""
    ### BEGIN SOLUTION
    return a + b
    ### END SOLUTION


def mean(xs: list[float]) -> float:
    """The arithmetic mean of xs."""
    ### BEGIN SOLUTION
    return sum(xs) / len(xs)
    ### END SOLUTION


def label(text: str) -> str:
    """'pos' when the text says good, else 'neg'."""
    ### BEGIN SOLUTION
    return "pos" if "good" in text else "neg"
    ### END SOLUTION


def save(path: str) -> str:
    """Write 'hello' to path."""
    ### BEGIN SOLUTION
    with open(path, "w") as fh:
        fh.write("hello")
    return path
    ### END SOLUTION
'''

HIDDEN = f'''
import json

from autograder.api import points, same_plain

THRESHOLD = "{SECRET}"


@points(1)
def test_add(student, reference):
    """add() adds."""
    for a, b in [(2, 3), (-1, 1), (10**6, 7)]:
        assert same_plain(
            student.call("add", a, b), reference.call("add", a, b)
        ), f"add({{a}}, {{b}}) is wrong"


@points(1)
def test_mean(student):
    """mean() averages."""
    assert same_plain(student.call("mean", [1, 2, 3, 4]), 2.5), "mean([1, 2, 3, 4]) should be 2.5"


@points(1)
def test_label(student, hidden_data):
    """label() labels the hidden texts."""
    labels = json.loads((hidden_data / "labels.json").read_text())["labels"]
    for text, want in labels.items():
        assert same_plain(student.call("label", text), want), "a hidden text got the wrong label"


@points(1)
def test_save(student):
    """save() writes its file."""
    student.call("save", student.scratch("out.txt"))
    assert student.scratch_path("out.txt").read_text() == "hello", "out.txt must hold 'hello'"
'''

GOOD = """
def add(a, b):
    return a + b

def mean(xs):
    return sum(xs) / len(xs)

def label(text):
    return "pos" if "good" in text else "neg"

def save(path):
    with open(path, "w") as fh:
        fh.write("hello")
    return path
"""


def write_course(root: Path) -> Layout:
    files = {
        "course.yaml": COURSE,
        "reference/rt/solution.py": REFERENCE,
        "assignments/rt/README.md": "# Red team\n",
        "assignments/rt/hidden/test_rt.py": HIDDEN,
        "assignments/rt/hidden/data/labels.json": json.dumps(
            {"secret": SECRET, "labels": {"a good day": "pos", "a bad day": "neg", "so good": "pos"}}
        ),
        "assignments/rt/data/texts.txt": "a good day\n",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.lstrip())
    (root / "autograder").symlink_to(REPO / "autograder")
    return Layout(root)


@pytest.fixture(scope="session")
def rt(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    return write_course(tmp_path_factory.mktemp("redteam") / "course")


class Graded:
    """One grading's outcome, read back from results.json as Gradescope would."""

    def __init__(self, out: Path) -> None:
        self.data = json.loads((out / "results.json").read_text())
        self.score = self.data["score"]
        self.tests = {t["extra_data"]["id"]: t for t in self.data["tests"]}
        self.text = json.dumps(self.data)

    def output(self, test: str) -> str:
        return self.tests[test]["output"]

    def check_sane(self) -> None:
        """Every test reported, no grader error, no secret in anything the student sees."""
        assert len(self.tests) == 4 and all(t["status"] in ("passed", "failed") for t in self.tests.values())
        assert not self.data["extra_data"].get("grader_errors"), self.text
        assert SECRET not in self.text


@pytest.fixture
def grade_it(rt: Layout, tmp_path: Path):
    """grade_it(source | path, sandbox=None) -> Graded. Grades in this process, like `course grade`."""

    def run(submission: str | Path, sandbox: str | None = None) -> Graded:
        if isinstance(submission, str):
            folder = tmp_path / "submission"
            folder.mkdir(exist_ok=True)
            (folder / "solution.py").write_text(textwrap.dedent(submission))
            submission = folder
        out = tmp_path / "out"
        grade(rt, "rt", submission, out, sandbox=sandbox)
        graded = Graded(out)
        graded.check_sane()
        return graded

    return run


def course_grade(rt: Layout, submission: Path, out: Path, *extra: str) -> subprocess.Popen:
    """`course grade` as a separate process (for killing it, or running many at once)."""
    env = {**os.environ, "COURSE_ROOT": str(rt.root)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "autograder.cli",
            "grade",
            "rt",
            str(submission),
            "--out",
            str(out),
            "--quiet",
            *extra,
        ],
        env=env,
        cwd=rt.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def processes_with(marker: str) -> list[int]:
    """Pids whose command line holds `marker` (a daemon a submission tried to leave behind)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(os.getpid()):
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def wait_until_gone(marker: str, timeout: float = 5.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left
