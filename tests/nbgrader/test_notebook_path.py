"""The notebook path of grading: only code reaches the grader, magics become comments, checks stay
out, and a syntax error is said by the cell the student sees."""

from __future__ import annotations

import sys

import nbformat

from autograder.grade.intake import take_in
from autograder.notebook import notebook_to_script


def _notebook(*cells) -> str:
    nb = nbformat.v4.new_notebook(cells=list(cells))
    return nbformat.writes(nb)


def test_magics_and_shell_lines_become_python_that_parses():
    code = nbformat.v4.new_code_cell
    script = notebook_to_script(
        _notebook(
            code("%pip install peft\n!ls -la\nfiles = !ls\nx = 1"),
            code("%%time\ny = x + 1"),
            code("%%bash\necho $HOME | tr a-z A-Z\nfor f in *; do echo $f; done"),
            code("if x:\n    !echo one\nz = y * 2"),
        )
    )
    namespace: dict = {}
    exec(compile(script, "nb", "exec"), namespace)  # our own test notebook
    assert (namespace["x"], namespace["y"], namespace["z"]) == (1, 2, 4)
    assert "# %pip install peft" in script and "# %%bash" in script and "pass  # !echo one" in script


def test_outputs_and_check_cells_never_reach_grading():
    cell = nbformat.v4.new_code_cell("def f():\n    return 1")
    cell.outputs = [nbformat.v4.new_output("stream", text="SECRET_OUTPUT")]
    check = nbformat.v4.new_code_cell(
        "assert f() == 1\nraise SystemExit('a test cell ran')",
        metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": "t", "points": 1}},
    )
    setup = nbformat.v4.new_code_cell(
        "from autograder.nbgrader.runtime import public_checks",
        metadata={
            "nbgrader": {"grade": False, "solution": False, "locked": True, "grade_id": "checks-setup"}
        },
    )
    script = notebook_to_script(_notebook(cell, setup, check))
    assert "SECRET_OUTPUT" not in script and "a test cell ran" not in script and "runtime" not in script
    assert "def f():" in script


def test_a_syntax_error_is_named_by_its_cell(tmp_path):
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    (tmp_path / "lab.ipynb").write_text(_notebook(md("# Lab"), code("x = 1"), code("def f(:\n    pass")))
    intake = take_in(tmp_path / "lab.ipynb", tmp_path / "work", ["lab.py"])
    assert (
        intake.problem is not None and "lab.ipynb, cell 3 (`def f(:`), line 1: syntax error" in intake.problem
    )


def test_the_grading_path_never_imports_nbgrader():
    """nbgrader takes seconds to import: `course grade` and batch grading must not pay for it."""
    import subprocess

    code = (
        "import sys, autograder.cli, autograder.batch.grader, autograder.grade.runner\n"
        "import autograder.nbgrader.layout\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'nbgrader'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_a_notebook_runs_cell_by_cell_and_errors_name_the_cell(mini, tmp_path):
    """Graded as Restart & Run All runs it: a failing cell is reported by its cell number, and so is
    an error inside a function the notebook defined."""
    from autograder.grade.runner import grade
    from tests.conftest import MINI_GOOD

    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    good = nbformat.v4.new_notebook(cells=[md("# Mini"), code("%matplotlib inline\n" + MINI_GOOD)])
    (tmp_path / "good").mkdir()
    nbformat.write(good, tmp_path / "good" / "mini.ipynb")
    assert grade(mini, "mini", tmp_path / "good", tmp_path / "o1").score == 4

    broken = nbformat.v4.new_notebook(
        cells=[md("# Mini"), code(MINI_GOOD.replace("return a + b", "return a + b + undefined_name"))]
    )
    (tmp_path / "broken").mkdir()
    nbformat.write(broken, tmp_path / "broken" / "mini.ipynb")
    add = grade(mini, "mini", tmp_path / "broken", tmp_path / "o2").tests[0]
    assert add.status == "failed" and 'mini.ipynb, cell 2", line 3, in add' in add.output, add.output

    stops = nbformat.v4.new_notebook(cells=[code(MINI_GOOD), code("print(add(tok, 1))")])
    (tmp_path / "stops").mkdir()
    nbformat.write(stops, tmp_path / "stops" / "mini.ipynb")
    first = grade(mini, "mini", tmp_path / "stops", tmp_path / "o3").tests[0]
    assert "name 'tok' is not defined" in first.output and 'mini.ipynb, cell 2", line 1' in first.output
