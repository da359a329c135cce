"""Convert between percent-format scripts (`# %%` cells) and Jupyter notebooks."""

from __future__ import annotations

import re

CELL = re.compile(r"^# %%(?P<md>\s*\[markdown\])?.*$")
MAGIC = re.compile(r"^\s*[%!]")


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
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
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
    return nbformat.writes(nb) + "\n"


def notebook_to_script(text: str) -> str:
    """The code cells of a notebook as one script; shell and magic lines are commented out."""
    import nbformat
    nb = nbformat.reads(text, as_version=4)
    chunks = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        lines = [f"# {ln}" if MAGIC.match(ln) else ln for ln in cell.source.splitlines()]
        chunks.append("\n".join(lines))
    return "# %%\n" + "\n\n# %%\n".join(chunks) + "\n"
