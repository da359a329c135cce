"""`course export nbgrader` and `course import nbgrader`: the course in nbgrader's classroom.

Only typer is imported here: autograder/cli.py imports this module on every `course` command,
grading included, and nbgrader costs seconds to import. Each command imports what it needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

export_app = typer.Typer(no_args_is_help=True, help="Export modules to another classroom's format.")
import_app = typer.Typer(no_args_is_help=True, help="Import assignments from another classroom's format.")
console = Console()
err = Console(stderr=True)


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(2)


@export_app.command("nbgrader")
def export_nbgrader(
    modules: Annotated[list[str], typer.Argument(help="modules to export")],
    out: Annotated[Path, typer.Option("--out", help="the nbgrader course folder to write")] = Path(
        "nbgrader"
    ),
) -> None:
    """Write an nbgrader course folder: nbgrader_config.py and source/<module>/<file>.ipynb.

    Then, in OUT: `nbgrader generate_assignment <module>` makes the student version; `course grade
    MODULE OUT/submitted --out DIR` grades what nbgrader collected; `course gradebook export
    --format nbgrader --out OUT` writes the scores into nbgrader's gradebook.
    """
    from autograder.layout import Layout
    from autograder.nbgrader.export import ExportError, export_course
    from autograder.release.markers import MarkerError
    from autograder.yamlconf import ConfigError

    try:
        done = export_course(Layout.discover(), modules, out)
    except (ExportError, MarkerError, ConfigError, KeyError, OSError) as exc:
        _fail(str(exc))
    for info in done:
        counts = ", ".join(f"{n} {kind}" for kind, n in info.cells.items())
        console.print(f"[green]{info.module}[/]: {info.notebook} ({counts})")
        for what in info.skipped:
            console.print(f"  [yellow]left out:[/] {what}")
    console.print(
        f"next: cd {out} && nbgrader generate_assignment {done[0].module if done else 'MODULE'} "
        "(the notebook's checks need the course: set COURSE_ROOT, or work below its course.yaml)"
    )


def write_back(db: Path, out: Path) -> None:
    """`course gradebook export --format nbgrader`: the gradebook's newest gradings into nbgrader's."""
    from autograder.gradebook import Gradebook
    from autograder.layout import Layout
    from autograder.nbgrader.gradebook import nbgrader_db, write_scores

    with Gradebook(db) as book:
        try:
            written = write_scores(book, Layout.discover().course, out)
        except ValueError as exc:
            _fail(str(exc))
    for what in written.skipped:
        err.print(f"[yellow]not written:[/] {what}")
    console.print(
        f"wrote {len(written.scores)} scores into [bold]{nbgrader_db(out)}[/]; "
        "`nbgrader export` in that folder lists them"
    )


@import_app.command("nbgrader")
def import_nbgrader(
    notebook: Annotated[Path, typer.Argument(help="an nbgrader source notebook (solutions and tests in it)")],
    module: Annotated[str, typer.Option("--module", help="the new module's id, e.g. m11-numpy")],
    add: Annotated[bool, typer.Option("--add", help="append the module's entry to course.yaml")] = False,
) -> None:
    """Turn an nbgrader source notebook into a module: reference, handout, public checks, hidden graders.

    Prints what could not be converted, and the course.yaml entry (appended with --add). Then prove
    it: `course validate MODULE`.
    """
    from autograder.layout import Layout
    from autograder.nbgrader.importer import ImportProblem, import_notebook, write_module
    from autograder.yamlconf import ConfigError

    if not notebook.is_file():
        _fail(f"no notebook at {notebook}")
    try:
        layout = Layout.discover()
        imported = import_notebook(notebook, module)
        written = write_module(imported, layout.root, add)
    except (ImportProblem, ConfigError, OSError) as exc:
        _fail(str(exc))
    for path in written:
        console.print(f"wrote {path.relative_to(layout.root)}")
    for problem in imported.problems:
        console.print(f"[yellow]not converted:[/] {problem}")
    entry = imported.course_entry()
    console.print(
        ("appended to course.yaml:\n" if add else "add to course.yaml under modules:\n") + entry, markup=False
    )
    console.print(f"then: course validate {module}")
