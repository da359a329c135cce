"""Shared fixtures: the real course, and a tiny course that grades in a second (no models)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autograder.grade.plugin import register_markers
from autograder.layout import Layout
from autograder.validate import Check
from tests.module_gradings import read as read_checks

REPO = Path(__file__).resolve().parents[1]
MODULE_TESTS = REPO / "tests" / "test_modules.py"

MINI_REFERENCE = '''
# %% [markdown]
# # A tiny module for testing the framework

# %%
def add(a: int, b: int) -> int:
    """Return a + b."""
    ### BEGIN SOLUTION add the two numbers
    return a + b
    ### END SOLUTION


def shout(text: str) -> str:
    """Return text upper-cased, with an exclamation mark."""
    ### BEGIN SOLUTION
    return text.upper() + "!"
    ### END SOLUTION


def write_file(path: str) -> str:
    """Write 'hello' to path; return the path."""
    ### BEGIN SOLUTION
    with open(path, "w") as fh:
        fh.write("hello")
    return path
    ### END SOLUTION


RATE = 0.5  # SOLUTION a learning rate
'''

MINI_GOOD = """
def add(a, b):
    return a + b

def shout(text):
    return text.upper() + "!"

def write_file(path):
    with open(path, "w") as fh:
        fh.write("hello")
    return path
"""  # a student's full-mark submission of the mini module

MINI_HIDDEN = '''
from autograder.api import points, record_metric, visibility


@points(2)
def test_add(student, reference):
    """add() adds two numbers."""
    for a, b in [(2, 3), (-1, 1), (10**6, 7)]:
        assert student.call("add", a, b) == reference.call("add", a, b), f"add({a}, {b}) is wrong"


@points(1)
@visibility("after_due_date")
def test_shout(student):
    """shout() upper-cases and adds '!'."""
    assert student.call("shout", "hi") == "HI!", "shout('hi') should be 'HI!'"


@points(1)
def test_write_file(student):
    """write_file() writes into its scratch folder."""
    student.call("write_file", student.scratch("out.txt"))
    assert student.scratch_path("out.txt").read_text() == "hello", "the file must contain 'hello'"
    record_metric("bytes_written", 5, leaderboard=True)
'''

MINI_PUBLIC = '''
from autograder.api import points


@points(1)
def test_add_small(student):
    """add(1, 1) is 2."""
    assert student.call("add", 1, 1) == 2, "add(1, 1) should be 2"
'''

MINI_COURSE = """
course: {id: mini-course, title: Mini, term: test}
defaults:
  limits: {wall: 60s, call: 10s, memory: 2GiB}
modules:
  - id: mini
    title: Mini module
    points: 4
    files: [mini.py]
"""


LAST_CLUSTER_TEST = pytest.StashKey[str]()
MODULE_GRADINGS = pytest.StashKey["ModuleGradings"]()


def pytest_configure(config: pytest.Config) -> None:
    register_markers(config)  # tests import autograder.api, whose marks a grading run registers


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Note the last test that uses the run's Dask cluster: it is stopped after that test, not at the
    end of the run (its scheduler and idle workers took about 15% of a core through the module gradings).
    Move the module tests (tests/test_modules.py), which wait for the gradings started in the
    background, to the end."""
    users = [item.nodeid for item in items if "cluster" in getattr(item, "fixturenames", ())]
    if users:
        config.stash[LAST_CLUSTER_TEST] = users[-1]
    items.sort(key=lambda item: item.path == MODULE_TESTS)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the gradings of the modules whose tests were selected (after -k and the like)."""
    modules = [item.callspec.params["module_id"] for item in session.items if item.path == MODULE_TESTS]
    if modules and not session.config.option.collectonly:
        session.config.stash[MODULE_GRADINGS] = ModuleGradings(session.config, modules)


class ModuleGradings:
    """tests/module_gradings.py, run in the background in a process group of its own."""

    def __init__(self, config: pytest.Config, modules: list[str]) -> None:
        base = config._tmp_path_factory.mktemp("validate")  # type: ignore[attr-defined]
        self.out = base / "checks.json"
        self.log = (base / "gradings.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.module_gradings", str(self.out), str(base / "work"), *modules],
            cwd=REPO,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def result(self) -> dict[str, list[Check]]:
        """Wait for the gradings: the checks of each module."""
        code = self.process.wait()
        self.log.close()
        if code != 0 or not self.out.exists():
            log = Path(self.log.name).read_text()[-4000:]
            raise RuntimeError(f"the module gradings stopped with exit code {code}:\n{log}")
        return read_checks(self.out)

    def stop(self) -> None:
        """Stop the gradings that are still running (the run ended early)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if (gradings := session.config.stash.get(MODULE_GRADINGS, None)) is not None:
        gradings.stop()


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    if item.nodeid == item.config.stash.get(LAST_CLUSTER_TEST, None):
        from tests.cluster.conftest import CLUSTER_KEY

        if (cluster := item.config.stash.get(CLUSTER_KEY, None)) is not None:
            cluster.close()


def write_mini_course(root: Path) -> Layout:
    files = {
        "course.yaml": MINI_COURSE,
        "reference/mini/mini.py": MINI_REFERENCE,
        "assignments/mini/README.md": "# Mini\n\nAdd numbers.\n",
        "assignments/mini/hidden/test_mini.py": MINI_HIDDEN,
        "assignments/mini/public/test_public.py": MINI_PUBLIC,
        "assignments/mini/mistakes.yaml": textwrap.dedent("""
            mistakes:
              - name: subtracts
                append: |
                  def add(a, b):
                      return a - b
                fails: [test_add]
        """),
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.lstrip())
    (root / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text())
    (root / "autograder").symlink_to(REPO / "autograder")
    return Layout(root)


@pytest.fixture
def mini(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Layout:
    layout = write_mini_course(tmp_path / "course")
    monkeypatch.setenv("COURSE_ROOT", str(layout.root))
    return layout


@pytest.fixture(scope="session")
def course() -> Layout:
    return Layout(REPO)


def submission(folder: Path, source: str, name: str = "mini.py") -> Path:
    """A submission folder holding one file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(textwrap.dedent(source))
    return folder
