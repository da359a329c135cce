"""The real nbgrader on exported modules: generate_assignment, validate, then a class collected in
nbgrader's layout graded by `course grade` and written back, read with nbgrader's own export."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.notebook import notebook_to_script
from autograder.release.build import solution_lines, starter_sources
from tests.conftest import REPO

MODULES = ["m01-tokenizers", "m03-finetuning"]
BIN = Path(sys.executable).parent
ENV = {
    **os.environ,
    "COURSE_ROOT": str(REPO),
    "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # nbgrader runs `alembic` from PATH
    "COLUMNS": "200",
}


def run(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        args, cwd=cwd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def finish(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate()
    assert proc.returncode == 0, out
    return out


@pytest.fixture(scope="session")
def nbcourse(tmp_path_factory) -> Path:
    """The exported course folder after `nbgrader generate_assignment` of both modules."""
    root = tmp_path_factory.mktemp("nbgrader") / "course"
    finish(
        run(
            [sys.executable, "-m", "autograder.cli", "export", "nbgrader", *MODULES, "--out", str(root)], REPO
        )
    )
    for module in MODULES:  # one after the other: both write nbgrader's gradebook.db
        finish(run([str(BIN / "nbgrader"), "generate_assignment", module], root))
    return root


def test_export_is_nbgrader_metadata_generate_assignment_keeps_no_solution(nbcourse, course):
    for module in MODULES:
        source = nbformat.read(next((nbcourse / "source" / module).glob("*.ipynb")), as_version=4)
        kinds = [c.metadata.get("nbgrader", {}) for c in source.cells]
        assert all(k.get("schema_version") == 3 for k in kinds if k)
        solutions = [c for c in source.cells if c.metadata.get("nbgrader", {}).get("solution")]
        assert solutions and all("### BEGIN SOLUTION" in c.source for c in solutions)
        tests = [k for k in kinds if k.get("grade") and not k.get("solution")]
        assert tests and all(k["points"] > 0 and k["locked"] for k in tests)
        hidden = [k for k in kinds if k.get("grade_id") == "hidden-tests"]
        assert hidden[0]["task"] and hidden[0]["points"] == course.course.module(module).points

        release = next((nbcourse / "release" / module).glob("*.ipynb"))
        cells = nbformat.read(release, as_version=4).cells
        code = [c for c in cells if c.cell_type == "code"]  # the handout is course release's README.md
        lines = {ln.strip() for c in code for ln in c.source.splitlines()}
        leaked = solution_lines(course, course.course.module(module)) & lines  # as `course release` checks
        assert not leaked and not any("BEGIN SOLUTION" in c.source for c in cells)

    # module 1's release asks for the same functions as `course release`'s starter notebook
    module = course.course.module("m01-tokenizers")
    starter = notebook_to_script(starter_sources(course, module)["tokenizers_lab.ipynb"].decode())
    released = notebook_to_script((nbcourse / "release/m01-tokenizers/tokenizers_lab.ipynb").read_text())
    assert starter.count("raise NotImplementedError") == released.count("raise NotImplementedError") == 11
    defs = lambda s: sorted(ln.split("(")[0] for ln in s.splitlines() if ln.startswith("def "))  # noqa: E731
    assert defs(starter) == defs(released)


def test_validate_grade_collected_and_write_back(nbcourse, tmp_path):
    module = "m01-tokenizers"
    reference = nbcourse / "source" / module / "tokenizers_lab.ipynb"
    starter = nbcourse / "release" / module / "tokenizers_lab.ipynb"
    validate = run([str(BIN / "nbgrader"), "validate", str(reference), str(starter)], nbcourse)

    # nbgrader's collected layout: ada worked everything out in the notebook, ben handed in the
    # untouched release, cy the reference as a .py (what the notebook must grade exactly like)
    reference_py = REPO / "reference" / module / "tokenizers_lab.py"
    for student, handed_in in (("ada", reference), ("ben", starter), ("cy", reference_py)):
        work = nbcourse / "submitted" / student / module
        work.mkdir(parents=True)
        shutil.copy(handed_in, work / handed_in.name)
        (work / "timestamp.txt").write_text("2027-02-01 20:00:00.000000 UTC")
    out = tmp_path / "graded"
    cli = [sys.executable, "-m", "autograder.cli"]
    grading = run(
        [*cli, "grade", module, str(nbcourse / "submitted"), "--out", str(out), "--jobs", "2"], REPO
    )
    said = finish(validate)
    # the reference passes every check; the starter fails them
    assert "Success! Your notebook passes all the tests." in said and "VALIDATION FAILED ON 5 CELL(S)" in said
    finish(grading)
    ada, ben, cy = (json.loads((out / s / "results.json").read_text()) for s in ("ada", "ben", "cy"))
    assert [t["status"] for t in ada["tests"]] == [t["status"] for t in cy["tests"]]
    assert ada["score"] == cy["score"] > 0 and ben["score"] == 0, (ada["output"], ben["output"])
    assert ada["extra_data"]["graded_files"] == {"tokenizers_lab.py": "tokenizers_lab.ipynb"}
    assert ada["extra_data"]["late"]["submitted_at"].startswith("2027-02-01T20:00:00")

    db = ["--db", str(out / "gradebook.sqlite"), "--out", str(nbcourse)]
    finish(run([*cli, "gradebook", "export", "--format", "nbgrader", *db], REPO))
    finish(run([str(BIN / "nbgrader"), "export", "--to", str(tmp_path / "grades.csv")], nbcourse))
    with open(tmp_path / "grades.csv", newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh) if r["assignment"] == module}
    assert float(rows["ada"]["score"]) == ada["score"] and float(rows["ben"]["score"]) == 0
    assert rows["ada"]["timestamp"].startswith("2027-02-01 20:00:00")
    # nbgrader's total: the hidden tests' cell (the module's points) and the 5 public checks it scores itself
    assert float(rows["ada"]["max_score"]) == 33 + 5
