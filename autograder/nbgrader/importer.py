"""`course import nbgrader`: an nbgrader source notebook as a module skeleton.

  - code cells become the reference (`reference/<id>/<file>.py`, percent format): solution cells keep
    their `### BEGIN SOLUTION` regions (a solution cell without one is a region whole); magics and
    shell lines become comments;
  - markdown cells become the handout (`assignments/<id>/README.md`) and stay in the reference as
    text cells, so the released notebook reads like the original;
  - each autograded test cell becomes a public check without its `### BEGIN HIDDEN TESTS` regions
    (`public/test_checks.py`) and a hidden grader with them (`hidden/test_hidden.py`), worth the
    cell's points: a call of a notebook function `f(x)` becomes `student.call("f", x)`.
What cannot be converted is left out and listed, one line each, with the cell it came from.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field
from pathlib import Path

from autograder.notebook import cell_code

BEGIN_HIDDEN_TESTS = "BEGIN HIDDEN TESTS"
END_HIDDEN_TESTS = "END HIDDEN TESTS"


class ImportProblem(ValueError):
    """The notebook cannot become a module at all; the message says why."""


@dataclass
class TestCell:
    grade_id: str
    points: float
    visible: str  # the cell without its hidden-test regions
    full: str  # the whole cell


@dataclass
class Imported:
    module_id: str
    file: str
    title: str
    points: float
    files: dict[str, str] = field(default_factory=dict)  # path under the course root -> text
    problems: list[str] = field(default_factory=list)

    def course_entry(self) -> str:
        """The module's entry for course.yaml's `modules:` list."""
        return (
            f"  - id: {self.module_id}\n"
            f"    title: {_yaml_str(self.title)}\n"
            f"    points: {self.points:g}\n"
            f"    files: [{self.file}]\n"
        )


def _yaml_str(text: str) -> str:
    import json

    return json.dumps(text) if re.search(r"[:#\[\]{},&*!|>'\"%@`]", text) else text


def file_name(notebook: Path) -> str:
    """`Problem Set 1.ipynb` -> `problem_set_1.py`: the module's file must be an importable name."""
    stem = re.sub(r"\W+", "_", notebook.stem.lower()).strip("_") or "lab"
    return f"{'nb_' if stem[0].isdigit() else ''}{stem}.py"


def _solution_code(source: str) -> str:
    """nbgrader's delimiters as the course's markers. A solution cell without a region is a region
    whole, except a cell of function definitions: then each body (after its docstring) is one, so
    the starter keeps the signatures."""
    lines = source.splitlines()
    if any("BEGIN SOLUTION" in ln for ln in lines):
        out = []
        for ln in lines:
            indent = ln[: len(ln) - len(ln.lstrip())]
            if "BEGIN SOLUTION" in ln:
                out.append(f"{indent}### BEGIN SOLUTION")
            elif "END SOLUTION" in ln:
                out.append(f"{indent}### END SOLUTION")
            else:
                out.append(ln)
        return "\n".join(out)
    try:
        body = ast.parse(source).body
    except SyntaxError:
        body = []
    functions = [n for n in body if isinstance(n, ast.FunctionDef)]
    if not body or len(functions) < len(body):
        return "\n".join(["### BEGIN SOLUTION", *lines, "### END SOLUTION"])
    regions = {}  # first line of a function's code -> its last line
    for fn in functions:
        has_doc = isinstance(fn.body[0], ast.Expr) and isinstance(fn.body[0].value, ast.Constant)
        code = fn.body[1:] if has_doc else fn.body
        if code:
            regions[code[0].lineno - 1] = (code[-1].end_lineno or code[-1].lineno) - 1
    out = []
    end = None
    for i, ln in enumerate(lines):
        if i in regions:
            indent = ln[: len(ln) - len(ln.lstrip())]
            out.append(f"{indent}### BEGIN SOLUTION")
            end = (regions[i], indent)
        out.append(ln)
        if end and i == end[0]:
            out.append(f"{end[1]}### END SOLUTION")
            end = None
    return "\n".join(out)


def _with_messages(tree: ast.AST, original: str) -> None:
    """A bare `assert` gets its own source as the message: graders' assertions are not rewritten,
    so without one the student would read nothing."""
    originals = [n for n in ast.walk(ast.parse(original)) if isinstance(n, ast.Assert)]
    for node, before in zip(
        [n for n in ast.walk(tree) if isinstance(n, ast.Assert)], originals, strict=False
    ):
        if node.msg is None:
            node.msg = ast.Constant(f"this check failed: assert {ast.unparse(before.test)}")


def _without_hidden_tests(source: str) -> str:
    out, hidden = [], False
    for ln in source.splitlines():
        if BEGIN_HIDDEN_TESTS in ln:
            hidden = True
        elif END_HIDDEN_TESTS in ln:
            hidden = False
        elif not hidden:
            out.append(ln)
    return "\n".join(out)


def _strip_delimiters(source: str) -> str:
    return "\n".join(
        ln for ln in source.splitlines() if BEGIN_HIDDEN_TESTS not in ln and END_HIDDEN_TESTS not in ln
    )


class _ToStudentCalls(ast.NodeTransformer):
    """`f(x)` with `f` a notebook function becomes `student.call("f", x)`."""

    def __init__(self, functions: set[str]) -> None:
        self.functions = functions

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id in self.functions:
            call = ast.Attribute(ast.Name("student", ast.Load()), "call", ast.Load())
            return ast.Call(call, [ast.Constant(node.func.id), *node.args], node.keywords)
        return node


def _free_names(tree: ast.AST) -> set[str]:
    """Names a cell reads that it does not bind itself."""
    bound: set[str] = set()
    read: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return read - bound


def _test_function(name: str, points: float, doc: str, code: str, imports: list[str]) -> str:
    body = "\n".join(f"    {ln}" if ln.strip() else "" for ln in [*imports, *code.splitlines()])
    return f'@points({points:g})\ndef {name}(student):\n    """{doc}"""\n{body}\n'


def _convert_test(
    cell: TestCell, source: str, functions: set[str], imports: dict[str, str], where: str
) -> tuple[str, list[str]] | str:
    """(converted code, imports it needs), or why it cannot be converted."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return f"{where}: line {exc.lineno} is not valid Python ({exc.msg})"
    used_functions = {
        n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    } & functions
    tree = _ToStudentCalls(functions).visit(tree)
    _with_messages(tree, source)
    tree = ast.fix_missing_locations(tree)
    free = _free_names(tree) - set(dir(builtins)) - {"student"}
    needed = sorted(free & set(imports))
    unknown = sorted(free - set(imports))
    if unknown:
        names = ", ".join(f"`{n}`" for n in unknown)
        return (
            f"{where}: reads {names} from the notebook; a grader gets only what the student's "
            "functions return (pass such values to a function, or write this check by hand)"
        )
    if not used_functions:
        return f"{where}: calls none of the notebook's functions, so it cannot fail on a student's work"
    return ast.unparse(tree), [imports[n] for n in needed]


def import_notebook(path: Path, module_id: str) -> Imported:
    """Read an nbgrader source notebook; return the module's files (relative to the course root)."""
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds
        raise ImportProblem(f"{path} is not a readable notebook ({type(exc).__name__}: {exc})") from None
    name = file_name(path)
    imported = Imported(module_id, name, module_id, 0.0)
    script: list[str] = []
    handout: list[str] = []
    tests: list[TestCell] = []
    for n, cell in enumerate(nb.cells, 1):
        meta = cell.metadata.get("nbgrader", {})
        where = f"{path.name}, cell {n} ({meta.get('grade_id') or cell.cell_type})"
        if cell.cell_type == "markdown":
            if meta.get("solution") or meta.get("task"):
                kind = "task" if meta.get("task") else "written answer"
                imported.problems.append(
                    f"{where}: a manually graded {kind} ({meta.get('points', 0):g} points) has no autograder"
                )
                continue
            handout.append(cell.source.strip())
            script.append(
                "# %% [markdown]\n" + "\n".join(f"# {ln}".rstrip() for ln in cell.source.strip().splitlines())
            )
            if imported.title == module_id and (m := re.search(r"^#+\s*(.+)$", cell.source, re.M)):
                imported.title = m.group(1).strip()
            continue
        if cell.cell_type != "code":
            continue
        code = cell_code(cell)
        if code != cell.source:
            imported.problems.append(f"{where}: IPython magics or shell lines became comments")
        if meta.get("grade") and not meta.get("solution"):
            tests.append(
                TestCell(
                    meta.get("grade_id") or f"cell_{n}",
                    float(meta.get("points", 0)),
                    _without_hidden_tests(code),
                    _strip_delimiters(code),
                )
            )
            continue
        if meta.get("grade") and meta.get("solution"):
            imported.problems.append(f"{where}: a manually graded code answer: its points are left out")
        script.append("# %%\n" + (_solution_code(code) if meta.get("solution") else code))
    reference = "\n\n\n".join(script) + "\n"
    try:
        tree = ast.parse(reference)
    except SyntaxError as exc:
        raise ImportProblem(
            f"{path}: the notebook's code is not valid Python: line {exc.lineno} of {name}: {exc.msg}"
        ) from None
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    imports = {}
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom) and not (
            isinstance(node, ast.ImportFrom) and node.module == "__future__"
        ):
            for alias in node.names:
                imports[(alias.asname or alias.name).split(".")[0]] = ast.unparse(node)
    public, hidden = [], []
    todo: list[str] = []  # test cells left for the instructor, kept beside the graders as comments
    for test in tests:
        where = f"{path.name}, test cell {test.grade_id}"
        ident = re.sub(r"\W+", "_", test.grade_id).strip("_").removeprefix("test_")
        full = _convert_test(test, test.full, functions, imports, where)
        if isinstance(full, str):
            imported.problems.append(full)
            source = "\n".join(f"#     {ln}".rstrip() for ln in test.full.splitlines())
            todo.append(f"# Not converted ({test.points:g} points): {full}\n# The cell:\n{source}\n")
            continue
        doc = f"The checks of the notebook's cell {test.grade_id}."
        hidden.append(_test_function(f"test_{ident}", test.points, doc, *full))
        imported.points += test.points
        visible = _convert_test(test, test.visible, functions, imports, where)
        if isinstance(visible, str):
            imported.problems.append(f"{visible} (its visible part: no public check)")
        else:
            public.append(
                _test_function(
                    f"test_{ident}_visible",
                    test.points,
                    f"The visible checks of cell {test.grade_id}.",
                    *visible,
                )
            )
    if not hidden:
        raise ImportProblem(
            f"{path}: no autograded test cell could be converted:\n  " + "\n  ".join(imported.problems)
        )
    head = "from autograder.api import points\n\n\n"
    imported.files = {
        f"reference/{module_id}/{name}": reference,
        f"assignments/{module_id}/README.md": "\n\n".join(handout) + "\n",
        f"assignments/{module_id}/hidden/test_hidden.py": (
            f'"""Hidden graders imported from {path.name}."""\n\n'
        )
        + head
        + "\n\n".join(hidden)
        + "".join(f"\n\n{t}" for t in todo),
    }
    if public:
        imported.files[f"assignments/{module_id}/public/test_checks.py"] = (
            f'"""Public checks imported from {path.name} (its test cells without their hidden tests)."""\n\n'
            + head
            + "\n\n".join(public)
        )
    return imported


def write_module(imported: Imported, root: Path, add_to_course: bool) -> list[Path]:
    """Write the module's files under `root` (refusing to overwrite a module), and its course.yaml
    entry when asked."""
    from autograder.config import load_course

    existing = [root / rel for rel in imported.files if (root / rel).exists()]
    if existing:
        raise ImportProblem(
            f"{existing[0]} exists already: choose another --module, or remove the old module"
        )
    written = []
    for rel, text in imported.files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    if add_to_course:
        course = root / "course.yaml"
        before = course.read_text(encoding="utf-8")
        if (
            not re.search(r"^modules:\s*$", before, re.M)
            or re.search(r"^modules:\s*$(?![\s\S]*^\S)", before, re.M) is None
        ):
            raise ImportProblem(
                "course.yaml's `modules:` list is not its last section: add the entry by hand"
            )
        course.write_text(before.rstrip("\n") + "\n" + imported.course_entry(), encoding="utf-8")
        try:
            load_course(course)
        except Exception:
            course.write_text(before, encoding="utf-8")
            raise
    return written
