"""`course import nbgrader`: a hand-written nbgrader source notebook becomes a module that validates."""

from __future__ import annotations

import subprocess
import sys

import nbformat

from tests.nbgrader.source_notebook import source_notebook


def _course(args, root):
    return subprocess.run(
        [sys.executable, "-m", "autograder.cli", *args],
        cwd=root,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "COURSE_ROOT": str(root), "COLUMNS": "200"},
    )


def test_an_nbgrader_notebook_round_trips_into_a_module_that_validates(mini, tmp_path):
    notebook = tmp_path / "Squares and Words.ipynb"
    nbformat.write(source_notebook(), notebook)
    done = _course(["import", "nbgrader", str(notebook), "--module", "squares", "--add"], mini.root)
    assert done.returncode == 0, done.stdout + done.stderr
    # what it could not convert, each said with its cell
    assert "cell 9 (explain): a manually graded written answer (1 points) has no autograder" in done.stdout
    assert "test cell test_scale: reads `SCALE` from the notebook" in done.stdout

    reference = (mini.root / "reference/squares/squares_and_words.py").read_text()
    assert "### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION" in reference
    # a solution cell without a region: each function body becomes one, the signature stays given
    assert (
        'def count_words(text):\n    """The number' in reference
        and "    ### BEGIN SOLUTION\n    return len" in reference
    )
    hidden = (mini.root / "assignments/squares/hidden/test_hidden.py").read_text()
    public = (mini.root / "assignments/squares/public/test_checks.py").read_text()
    assert (
        "student.call('square', 0) == 0" in hidden and "square', 0)" not in public
    )  # hidden tests stay hidden
    assert "student.call('square', 3) == 9" in public
    # the cell it could not convert waits beside the graders, for the instructor to write by hand
    assert "# Not converted (1 points):" in hidden and "#     assert SCALE == 2" in hidden
    assert "# Squares and words" in (mini.root / "assignments/squares/README.md").read_text()
    assert (
        "  - id: squares\n    title: Squares and words\n    points: 3\n"
        in (mini.root / "course.yaml").read_text()
    )

    done = _course(["validate", "squares"], mini.root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3/3" in done.stdout and "0 points" in done.stdout


def test_a_notebook_with_no_convertible_test_is_refused_with_the_reasons(mini, tmp_path):
    nb = source_notebook()
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_square"]
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_count_words"]
    notebook = tmp_path / "only_scale.ipynb"
    nbformat.write(nb, notebook)
    done = _course(["import", "nbgrader", str(notebook), "--module", "scale"], mini.root)
    assert done.returncode == 2 and "no autograded test cell could be converted" in done.stderr
    assert "reads `SCALE`" in done.stderr and not (mini.root / "reference/scale").exists()
