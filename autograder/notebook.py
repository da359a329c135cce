"""Convert between percent-format scripts (`# %%` cells) and Jupyter notebooks."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbformat import NotebookNode

CELL = re.compile(r"^# %%(?P<md>\s*\[markdown\])?.*$")
MAGIC = re.compile(r"^\s*[%!]")
ASSIGNED_MAGIC = re.compile(r"^\s*[A-Za-z_][\w, ]*=\s*[%!]")  # files = !ls, t = %timeit -o f()
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}  # cell magics whose body is Python
CHECKS_SETUP_ID = "checks-setup"  # grade_id of the cell that sets up exported checks (autograder.nbgrader)


def script_to_notebook(source: str) -> str:
    """A `# %%` script as .ipynb JSON text, with stable cell ids so builds are reproducible."""
    import nbformat  # imported when needed: it costs ~0.6 s, paid by every grading process otherwise

    cells: list[tuple[bool, list[str]]] = []
    for line in source.splitlines():
        m = CELL.match(line)
        if m:
            cells.append((bool(m.group("md")), []))
            continue
        if not cells:
            cells.append((False, []))
        cells[-1][1].append(line)
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for n, (is_md, lines) in enumerate(cells):
        text = "\n".join(lines).strip("\n")
        if not text:
            continue
        if is_md:
            text = "\n".join(re.sub(r"^# ?", "", ln) for ln in text.splitlines())
            cell = nbformat.v4.new_markdown_cell(text)
        else:
            cell = nbformat.v4.new_code_cell(text)
        cell.id = f"cell-{n:03d}"
        nb.cells.append(cell)
    written: str = nbformat.writes(nb)
    return written + "\n"


def cell_code(cell: NotebookNode) -> str:
    """A code cell as Python: IPython's shell and magic lines become comments (`pass` where a line
    is indented, so its block stays valid); a cell magic whose body is not Python (`%%bash`,
    `%%writefile`) becomes a comment whole."""
    lines = cell.source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        words = lines[0].lstrip()[2:].split()
        if not words or words[0] not in PYTHON_CELL_MAGICS:
            return "\n".join(f"# {ln}" for ln in lines)
    out = []
    for line in lines:
        if MAGIC.match(line) or ASSIGNED_MAGIC.match(line):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}pass  # {line.strip()}" if indent else f"# {line}")
        else:
            out.append(line)
    return "\n".join(out)


def is_check_cell(cell: NotebookNode) -> bool:
    """nbgrader's autograded test cells and the cell that sets up exported checks: tests, not the
    student's code, so grading leaves them out (the hidden graders test the student's functions)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade") and not meta.get("solution")) or meta.get("grade_id") == CHECKS_SETUP_ID


def code_cells(text: str) -> list[tuple[int, str]]:
    """(position among all cells, from 1; Python source) of each code cell the grader runs. Only
    sources are read: outputs, execution counts and widgets never reach grading."""
    import nbformat

    nb = nbformat.reads(text, as_version=4)
    return [
        (n, cell_code(cell))
        for n, cell in enumerate(nb.cells, 1)
        if cell.cell_type == "code" and not is_check_cell(cell)
    ]


def notebook_to_script(text: str) -> str:
    """The code cells of a notebook as one script (see `code_cells`)."""
    chunks = [code for _, code in code_cells(text)]
    return "# %%\n" + "\n\n# %%\n".join(chunks) + "\n"


def syntax_error_cell(text: str) -> str | None:
    """Where the first syntax error of a notebook is, said as the student sees the notebook:
    "cell 7 (`def encode(...`), line 2: invalid syntax". None when every code cell parses."""
    import ast

    for n, code in code_cells(text):
        try:
            ast.parse(code)
        except SyntaxError as exc:
            first = next((ln.strip() for ln in code.splitlines() if ln.strip()), "")
            return f"cell {n} (`{first[:40]}`), line {exc.lineno}: syntax error: {exc.msg}"
    return None


# Runs inside the student's worker, where the converted notebook is imported: each code cell is
# compiled under its own name, so a traceback says "lab.ipynb, cell 7", line 2 rather than a line of
# a script the student never saw; `from __future__` imports carry over from cell to cell, as in IPython.
_RUN_CELLS = """
import __future__
import linecache as __nb_linecache
__nb_future = 0
for __nb_n, __nb_source in _NOTEBOOK_CELLS:
    __nb_name = f"{__file__.removesuffix('.py')}.ipynb, cell {__nb_n}"
    __nb_linecache.cache[__nb_name] = (len(__nb_source), None, __nb_source.splitlines(True), __nb_name)
    __nb_code = compile(__nb_source, __nb_name, "exec", flags=__nb_future, dont_inherit=True)
    __nb_future |= __nb_code.co_flags & __future__.annotations.compiler_flag
    exec(__nb_code, globals())
"""


def notebook_module(text: str) -> str:
    """The notebook as the module the grader imports: its code cells run in order, as Restart & Run
    All runs them, each under its cell's name (see `_RUN_CELLS`)."""
    cells = ",\n".join(f"    ({n}, {code!r})" for n, code in code_cells(text))
    return (
        f"# The code cells of a notebook, run in order as Restart & Run All runs them.\n"
        f"_NOTEBOOK_CELLS = [\n{cells}\n]\n"
        f"_RUN_CELLS = {_RUN_CELLS!r}\n"
        "exec(compile(_RUN_CELLS, '<notebook>', 'exec'))  # runs the notebook's code cells, in order\n"
    )
