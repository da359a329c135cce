"""The mini course with a few more graders, mutated once for the whole folder (about 15 s)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autograder.layout import Layout
from tests.conftest import write_mini_course

MORE_REFERENCE = '''

def repeat(text: str, times: int = 2) -> str:
    """Return text repeated `times` times."""
    ### BEGIN SOLUTION
    return text * times
    ### END SOLUTION


def pair(a, b):
    """Return (a, b)."""
    ### BEGIN SOLUTION
    return (a, b)
    ### END SOLUTION
'''

MORE_HIDDEN = '''
import pytest

from autograder.api import points


@pytest.fixture(scope="session")
def three(student):
    return student.call("add", 1, 2)  # built once, for both tests below


@points(1)
def test_repeat(student):
    """repeat() repeats (only ever `times`' default: a weak test on purpose)."""
    assert student.call("repeat", "ab") == "abab", "repeat('ab') should be 'abab'"
    assert student.call("repeat", "c") == "cc", "repeat('c') should be 'cc'"


@points(1)
def test_uses_three(three):
    """A test whose student call happens in a session fixture."""
    assert three == 3, "add(1, 2) should be 3"


@points(1)
def test_also_uses_three(three, student):
    """Another test of the same fixture."""
    assert three == 3 and student.call("shout", "a") == "A!", "add(1, 2) should be 3"


@points(1)
def test_pair_as_tuple(student):
    """pair() returns both values (a grader that forgets the worker speaks JSON)."""
    assert student.call("pair", 1, 2) == (1, 2), "pair(1, 2) is wrong"
'''


def write_mutation_course(root: Path) -> Layout:
    layout = write_mini_course(root)
    ref = layout.reference_dir("mini") / "mini.py"
    ref.write_text(ref.read_text() + MORE_REFERENCE)
    (layout.hidden_tests("mini") / "test_more.py").write_text(textwrap.dedent(MORE_HIDDEN))
    return layout


@pytest.fixture(scope="session")
def mutated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Layout, dict, str]:
    """`course mutate mini --function repeat --jobs 2`: the layout, its JSON report and the
    command's output."""
    layout = write_mutation_course(tmp_path_factory.mktemp("mutate") / "course")
    run = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "mutate", "mini", "--function", "repeat", "--jobs", "2"],
        cwd=layout.root,
        env={**os.environ, "COURSE_ROOT": str(layout.root), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return layout, json.loads(layout.mutation_report("mini").read_text()), run.stdout
