"""`course export nbgrader`: a module's reference as an nbgrader source notebook.

nbgrader's cell metadata (schema version 3) says what each cell is:
  - solution regions -> solution cells (`### BEGIN SOLUTION` / `### END SOLUTION` inside); the hint
    of a region becomes a `# TODO:` line above it, so nbgrader's release keeps it;
  - code without regions -> read-only cells; the handout and the lab's text -> markdown cells;
  - each public check -> an autograded test cell worth the check's points, run on the notebook's
    own functions through `autograder.nbgrader.runtime` (the same check `course check` runs);
  - the hidden graders -> one manually graded task cell worth the module's points: they never leave
    the course, `course grade` runs them and `course gradebook export --format nbgrader` fills it in.
The experiments cell (`if __name__ == "__main__":`) is left out: it reads the command line.
"""

from __future__ import annotations

import ast
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.config import Module
from autograder.layout import Layout
from autograder.notebook import CELL, CHECKS_SETUP_ID
from autograder.release.markers import BEGIN, BEGIN_HIDDEN, END_HIDDEN, find_regions

HIDDEN_CELL = "hidden-tests"
FIXTURES = ("student", "public_data", "assets")  # what the notebook's check setup provides
INLINE_COMMENT = re.compile(r"[ \t]*#[ \t]*SOLUTION\b[ \t:]*(?P<hint>.*)$")
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


class ExportError(ValueError):
    """The module cannot be exported; the message names the file and what to change."""


@dataclass
class Exported:
    module: str
    notebook: Path
    cells: dict[str, int] = field(default_factory=dict)  # kind -> count
    skipped: list[str] = field(default_factory=list)  # what was left out, and why


def nbgrader_meta(
    grade_id: str,
    *,
    solution: bool = False,
    grade: bool = False,
    locked: bool = False,
    task: bool = False,
    points: float | None = None,
) -> dict[str, Any]:
    """A cell's `nbgrader` metadata, schema version 3 (what nbgrader's create-assignment toolbar writes)."""
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": task,
    }
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def percent_cells(source: str) -> list[tuple[str, str]]:
    """A `# %%` script as (kind, text) cells, kind "markdown" or "code", blank cells dropped."""
    cells: list[tuple[str, list[str]]] = []
    for line in source.splitlines():
        m = CELL.match(line)
        if m:
            cells.append(("markdown" if m.group("md") else "code", []))
            continue
        if not cells:
            cells.append(("code", []))
        cells[-1][1].append(line)
    out = []
    for kind, lines in cells:
        text = "\n".join(lines).strip("\n")
        if kind == "markdown":
            text = "\n".join(re.sub(r"^# ?", "", ln) for ln in text.splitlines())
        if text.strip():
            out.append((kind, text))
    return out


def drop_hidden(lines: list[str]) -> list[str]:
    out, hidden = [], False
    for line in lines:
        if BEGIN_HIDDEN.match(line):
            hidden = True
        elif END_HIDDEN.match(line):
            hidden = False
        elif not hidden:
            out.append(line)
    return out


def inline_to_regions(code: str, where: str) -> str:
    """`x = 1e-4  # SOLUTION hint` (also when a formatter wrapped the statement over several lines)
    becomes a solution region around the whole statement, the hint a `# TODO:` line above it."""
    lines = code.splitlines()
    marked = [i for i, ln in enumerate(lines) if INLINE_COMMENT.search(ln) and not BEGIN.match(ln)]
    if not marked:
        return code
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise ExportError(f"{where}: line {exc.lineno} of a cell is not valid Python: {exc.msg}") from None
    simple = [  # statements without a body, as (first line, last line), 0-based
        (n.lineno - 1, (n.end_lineno or n.lineno) - 1)
        for n in ast.walk(tree)
        if isinstance(n, ast.stmt) and not hasattr(n, "body")
    ]
    spans: dict[int, tuple[int, str]] = {}  # first line -> (last line, hint)
    for i in marked:
        span = min((s for s in simple if s[0] <= i <= s[1]), key=lambda s: s[1] - s[0], default=None)
        if span is None:
            raise ExportError(f"{where}: '# SOLUTION' on a line that is no statement: {lines[i].strip()}")
        comment = INLINE_COMMENT.search(lines[i])
        hint = (comment.group("hint").strip() if comment else "") or "fill in this value"
        spans[span[0]] = (span[1], hint)
    out: list[str] = []
    i = 0
    while i < len(lines):
        if i not in spans:
            out.append(lines[i])
            i += 1
            continue
        last, hint = spans[i]
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        body = [INLINE_COMMENT.sub("", ln) for ln in lines[i : last + 1]]
        out += [f"{indent}# TODO: {hint}", f"{indent}### BEGIN SOLUTION", *body, f"{indent}### END SOLUTION"]
        i = last + 1
    return "\n".join(out)


def hints_above(code: str, where: str) -> tuple[str, int]:
    """`### BEGIN SOLUTION hint` (and its `### ` continuation lines) becomes `# TODO: hint` then a bare
    `### BEGIN SOLUTION` (nbgrader replaces the region by its stub, and the hint would be lost).
    Returns the code and its regions."""
    lines = code.splitlines()
    regions = [r for r in find_regions(lines, where) if r.kind == "solution"]
    starts = {r.start: r for r in regions}
    out: list[str] = []
    i = 0
    while i < len(lines):
        region = starts.get(i)
        if region is None:
            out.append(lines[i])
            i += 1
        else:
            out += [*region.todo(), f"{region.indent}### BEGIN SOLUTION"]
            i = region.body
    return "\n".join(out), len(regions)


def defined_names(code: str) -> list[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]


def _is_experiments(code: str) -> bool:
    return bool(re.match(r'if\s+__name__\s*==\s*["\']__main__["\']\s*:', code.lstrip()))


@dataclass
class Check:
    name: str
    points: float
    source: str  # the function without its decorators, then the call


def check_cells(folder: Path, skipped: list[str]) -> tuple[str, list[Check]]:
    """The public checks of a module as (shared setup code, checks). A check that needs a fixture the
    notebook cannot give, or is parametrized, is left out and said so in `skipped`."""
    setup: list[str] = []
    checks: list[Check] = []
    for path in sorted(folder.glob("test_*.py")):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        tree = ast.parse(source, str(path))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                markers = {_decorator_name(d): d for d in node.decorator_list}
                params = [a.arg for a in node.args.args]
                unknown = [p for p in params if p not in FIXTURES]
                if unknown or "parametrize" in markers:
                    why = f"fixtures {', '.join(unknown)}" if unknown else "parametrize"
                    skipped.append(f"{path.name}::{node.name}: uses {why}, which a notebook cell cannot give")
                    continue
                points = _marker_value(markers.get("points"), 1.0)
                body = "\n".join(lines[node.lineno - 1 : node.end_lineno])
                checks.append(Check(node.name, points, f"{body}\n\n\n{node.name}({', '.join(params)})"))
            elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):  # docstring
                setup.append("\n".join(lines[node.lineno - 1 : node.end_lineno]))
    return "\n".join(setup), checks


def _decorator_name(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    return target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")


def _marker_value(node: ast.expr | None, default: float) -> float:
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        value = node.args[0].value
        if isinstance(value, int | float):
            return float(value)
    return default


def module_notebook(layout: Layout, module: Module) -> tuple[Any, Exported, str]:
    """The nbgrader source notebook of one module (the first student file), as an nbformat node."""
    import nbformat

    name = module.files[0]
    ref = layout.reference_dir(module.id) / name
    info = Exported(module.id, Path(name).with_suffix(".ipynb"))
    cells: list[Any] = []

    def add(cell: Any, kind: str) -> None:
        cell.id = f"cell-{len(cells):03d}"
        cells.append(cell)
        info.cells[kind] = info.cells.get(kind, 0) + 1

    for other in module.files[1:]:
        info.skipped.append(f"{other}: one notebook per module, made from its first file ({name})")
    readme = layout.assignment_dir(module.id) / "README.md"
    if readme.is_file():
        for n, part in enumerate(re.split(r"\n(?=## )", readme.read_text(encoding="utf-8").strip())):
            cell = nbformat.v4.new_markdown_cell(
                part.strip(), metadata=nbgrader_meta(f"handout-{n}", locked=True)
            )
            add(cell, "handout")
    ids: set[str] = set()
    for n, (kind, text) in enumerate(percent_cells(ref.read_text(encoding="utf-8"))):
        where = f"{ref}, cell {n + 1}"
        if kind == "markdown":
            add(nbformat.v4.new_markdown_cell(text), "markdown")
            continue
        if _is_experiments(text):
            info.skipped.append(
                f'{ref.name}, cell {n + 1}: the experiments under `if __name__ == "__main__":`'
            )
            continue
        code = inline_to_regions("\n".join(drop_hidden(text.splitlines())), where)
        code, regions = hints_above(code, where)
        names = defined_names(code) or [f"cell-{n + 1}"]
        grade_id = _unique(f"{'solution' if regions else 'given'}-{names[0]}", ids)
        meta = nbgrader_meta(grade_id, solution=True) if regions else nbgrader_meta(grade_id, locked=True)
        add(nbformat.v4.new_code_cell(code, metadata=meta), "solution" if regions else "read-only")
    setup, checks = check_cells(layout.public_tests(module.id), info.skipped)
    if checks:
        add(
            nbformat.v4.new_markdown_cell(
                "## Checks\n\nThe public checks (`course check`), run on the functions above. "
                "Validate the notebook to run them all."
            ),
            "markdown",
        )
        head = (
            f"# The public checks of {module.id}, run on this notebook's functions.\n"
            "from autograder.nbgrader.runtime import public_checks\n\n"
            f"{', '.join(FIXTURES)} = public_checks({module.id!r}, globals())\n"
        )
        setup_code = f"{head}\n{setup}".rstrip()
        add(
            nbformat.v4.new_code_cell(setup_code, metadata=nbgrader_meta(CHECKS_SETUP_ID, locked=True)),
            "read-only",
        )
        for check in checks:
            meta = nbgrader_meta(_unique(check.name, ids), grade=True, locked=True, points=check.points)
            add(nbformat.v4.new_code_cell(check.source, metadata=meta), "test")
    hidden = (
        f"## Hidden tests ({module.points:g} points)\n\n"
        "The course's hidden tests grade the functions above on inputs you have not seen, in a "
        "sandbox, after you submit. Their score is written into this cell."
    )
    add(
        nbformat.v4.new_markdown_cell(
            hidden, metadata=nbgrader_meta(HIDDEN_CELL, task=True, locked=True, points=module.points)
        ),
        "hidden-tests task",
    )
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    return nb, info, name


def _unique(grade_id: str, seen: set[str]) -> str:
    candidate, n = grade_id, 2
    while candidate in seen:
        candidate, n = f"{grade_id}-{n}", n + 1
    seen.add(candidate)
    return candidate


NBGRADER_CONFIG = """\
# nbgrader's configuration for this course folder, written by `course export nbgrader`.
c = get_config()  # noqa: F821 - nbgrader defines it
c.CourseDirectory.course_id = {course_id!r}
# A check cell may load a model: give each cell the module's longest per-call limit.
c.Execute.timeout = {timeout}
"""


def export_course(layout: Layout, module_ids: list[str], out: Path) -> list[Exported]:
    """Write OUT/nbgrader_config.py and OUT/source/<module>/<file>.ipynb (plus the module's visible
    data in OUT/source/<module>/data/) for each module; nbgrader's own validator checks each notebook."""
    import nbformat
    from nbgrader.nbgraderformat import ValidationError
    from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

    course = layout.course
    modules = [course.module(m) for m in module_ids]
    timeout = max(int(course.limits_for(m.id).call) for m in modules)
    out.mkdir(parents=True, exist_ok=True)
    (out / "nbgrader_config.py").write_text(
        NBGRADER_CONFIG.format(course_id=course.course.id, timeout=timeout)
    )
    done = []
    for module in modules:
        nb, info, name = module_notebook(layout, module)
        try:
            MetadataValidatorV3().validate_nb(nb)
        except ValidationError as exc:
            raise ExportError(f"{module.id}: nbgrader refuses the notebook's metadata: {exc}") from None
        folder = out / "source" / module.id
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        info.notebook = folder / Path(name).with_suffix(".ipynb").name
        info.notebook.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
        data = layout.data_dir(module.id)
        if data.is_dir():
            shutil.copytree(data, folder / "data")
        done.append(info)
    return done
