"""`course gradebook export` and `course gradebook report`: the SQLite gradebook batch grading fills.

The HTML report (drawn by `feedback`) and other export formats (nbgrader's) sit above the gradebook in
the layers of docs/architecture.md, so `autograder/cli.py` hands them in: this module never imports up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from autograder.gradebook import Gradebook
from autograder.layout import Layout

Exporter = Callable[[Path, Path], None]  # (gradebook file, destination): writes another tool's format
Reporter = Callable[[Layout, str, Gradebook, Path], Path]  # (layout, module, book, html file)

console = Console()
err = Console(stderr=True)


def _fail(message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(2)


def gradebook_app(report: Reporter, formats: Mapping[str, Exporter]) -> typer.Typer:
    """The `gradebook` commands; `report` writes MODULE's HTML report, `formats` are --format's others."""
    app = typer.Typer(no_args_is_help=True, help="The SQLite gradebook batch grading fills.")
    names = " or ".join(["csv", *formats])

    @app.command("export")
    def gradebook_export(
        db: Annotated[Path, typer.Option("--db", help="the gradebook")] = Path("results/gradebook.sqlite"),
        out: Annotated[
            Path, typer.Option("--out", help="CSV to write (nbgrader: its course folder or gradebook.db)")
        ] = Path("grades.csv"),
        roster: Annotated[
            Path | None, typer.Option(help="CSV student_id[,name,canvas_id,sis_id,section]")
        ] = None,
        fmt: Annotated[
            str, typer.Option("--format", help="csv (Canvas) or nbgrader (its gradebook)")
        ] = "csv",
    ) -> None:
        """Write final scores as a CSV the LMS imports (Canvas gradebook columns), one row per student;
        or, with --format nbgrader, into nbgrader's gradebook, where `nbgrader export` reads them."""
        from autograder.gradebook.export import export_csv, load_roster

        if not db.is_file():
            _fail(f"no gradebook at {db}; grade a batch first (course grade MODULE FOLDER --jobs N)")
        if fmt in formats:
            formats[fmt](db, out)
            return
        if fmt != "csv":
            _fail(f"--format {fmt}: use {names}")
        try:
            people = load_roster(roster) if roster else None
        except (OSError, ValueError) as exc:
            _fail(str(exc))
        with Gradebook(db) as book:
            n = export_csv(book, Layout.discover().course, out, people)
        console.print(f"wrote {n} students to [bold]{out}[/]")

    @app.command("report")
    def gradebook_report(
        module: str,
        db: Annotated[Path, typer.Option("--db", help="the gradebook")] = Path("results/gradebook.sqlite"),
        out: Annotated[Path, typer.Option("--out", help="HTML file to write")] = Path("report.html"),
    ) -> None:
        """Write the instructor's HTML report for MODULE: grade distribution, pass rates, slow and failing
        work."""
        if not db.is_file():
            _fail(f"no gradebook at {db}")
        with Gradebook(db) as book:
            report(Layout.discover(), module, book, out)
        console.print(f"wrote [bold]{out}[/]")

    return app
