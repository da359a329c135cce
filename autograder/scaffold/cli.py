"""`course new DIR`: scaffold a course of your own."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def new(
    folder: Annotated[Path, typer.Argument(help="the new course's folder (created; must be empty)")],
    title: Annotated[str, typer.Option(help="the course's title")] = "My course",
    course_id: Annotated[
        str | None, typer.Option("--id", help="the course id (default: from the title)")
    ] = None,
) -> None:
    """Create a course that validates, releases and grades as it stands: one pure-Python module
    with its reference, handout, public and hidden tests, mistakes and quiz; then make it yours."""
    from autograder.scaffold import MODULE, new_course

    new_course(folder, title, course_id)
    typer.echo(
        f"created {folder}: a course with one module, {MODULE}. Next, in that folder:\n"
        "  course validate              # prove the graders right (well under a minute)\n"
        "  course release --out release # the student folder and the Gradescope zip\n"
        f"See {folder / 'README.md'} for what each file is."
    )
