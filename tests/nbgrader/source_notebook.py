"""A hand-written nbgrader source notebook, as an instructor writes one in nbgrader's create-assignment
toolbar: markdown, a read-only cell, solution cells, autograded tests with a hidden-tests region, and
a manually graded written answer (which has no autograder, so the import must say so)."""

from __future__ import annotations

import nbformat


def _meta(grade_id: str, *, solution=False, grade=False, locked=False, points=None) -> dict:
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def source_notebook() -> nbformat.NotebookNode:
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    cells = [
        md("# Squares and words\n\nWrite two small functions. The tests below check them."),
        code("import math\n\nSCALE = 2", metadata=_meta("setup", locked=True)),
        code(
            "def square(x):\n"
            '    """Return x squared."""\n'
            "    ### BEGIN SOLUTION\n"
            "    return x * x\n"
            "    ### END SOLUTION",
            metadata=_meta("square", solution=True),
        ),
        code(
            "assert square(3) == 9\n"
            "assert square(-2) == 4\n"
            "### BEGIN HIDDEN TESTS\n"
            "assert square(0) == 0\n"
            "assert math.isclose(square(1.5), 2.25)\n"
            "### END HIDDEN TESTS",
            metadata=_meta("test_square", grade=True, locked=True, points=2),
        ),
        md("## Words\n\n`count_words(text)` returns how many whitespace-separated words `text` has."),
        code(
            "def count_words(text):\n"
            '    """The number of whitespace-separated words in text."""\n'
            "    return len(text.split())",
            metadata=_meta("count_words", solution=True),
        ),
        code(
            'assert count_words("a b c") == 3\n'
            "### BEGIN HIDDEN TESTS\n"
            'assert count_words("  spaced   out ") == 2\n'
            'assert count_words("") == 0\n'
            "### END HIDDEN TESTS",
            metadata=_meta("test_count_words", grade=True, locked=True, points=1),
        ),
        code("assert SCALE == 2", metadata=_meta("test_scale", grade=True, locked=True, points=1)),
        md(
            "Explain why squares are never negative.",
            metadata=_meta("explain", solution=True, grade=True, points=1),
        ),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}
    return nb
