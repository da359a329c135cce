"""nbgrader's collected layout: found without importing nbgrader, graded as a batch by `course grade`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import nbformat

from autograder.batch import discover
from autograder.nbgrader.layout import collected, timestamp
from tests.conftest import MINI_GOOD


def _collect(root, student, assignment, files: dict[str, str], stamp: str | None = None):
    work = root / student / assignment
    work.mkdir(parents=True)
    for name, text in files.items():
        (work / name).write_text(text)
    if stamp is not None:
        (work / "timestamp.txt").write_text(stamp)
    return work


def test_the_layout_is_each_students_assignment_folder_with_nbgraders_time(tmp_path):
    sub = tmp_path / "submitted"
    _collect(sub, "ada", "mini", {"mini.ipynb": "{}"}, "2027-02-01 20:00:00.250000 UTC")
    _collect(sub, "ada", "other", {"other.ipynb": "{}"})
    _collect(sub, "ben", "other", {"other.ipynb": "{}"})  # ben did not hand in this one
    assert collected(sub, "mini") == {"ada": sub / "ada" / "mini"}
    assert collected(sub, "nope") is None and collected(sub / "ada", "mini") is None  # not that layout
    assert timestamp(sub / "ada" / "mini") == datetime(2027, 2, 1, 20, 0, 0, 250000, tzinfo=UTC)
    assert timestamp(sub / "ben" / "other") is None
    (found,) = discover(sub, module="mini")
    # a worker sees neither the other students' folders nor the student's other assignments
    assert (found.student, found.path, found.classmates) == ("ada", sub / "ada" / "mini", sub)
    assert {s.student for s in discover(sub)} == {"ada", "ben"}  # without a module: folders as usual


def test_course_grade_grades_a_collected_folder_as_a_batch(mini, tmp_path):
    sub = tmp_path / "submitted"
    code = nbformat.v4.new_code_cell
    notebook = nbformat.writes(nbformat.v4.new_notebook(cells=[code(MINI_GOOD)]))
    _collect(sub, "ada", "mini", {"mini.ipynb": notebook}, "2027-02-01 20:00:00.000000 UTC")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "grade", "mini", str(sub), "--out", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "COURSE_ROOT": str(mini.root)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((out / "ada" / "results.json").read_text())
    assert results["score"] == 4 and (out / "gradebook.sqlite").is_file()
    assert results["extra_data"]["late"]["submitted_at"].startswith("2027-02-01T20:00:00")
