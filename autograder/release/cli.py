"""`course requirements`: what course.yaml's `requirements:` asks pip to install, one line each."""

from __future__ import annotations

from typing import Annotated

import typer


def requirements(
    torch: Annotated[
        bool, typer.Option("--torch", help="print only the torch pin (nothing if none)")
    ] = False,
) -> None:
    """Print the course's pip requirements (torch's pin first), for `pip install -r`.

    Install torch on its own first, from the CPU index where pip's index is plain PyPI:
    pip install "$(course requirements --torch)" --index-url https://download.pytorch.org/whl/cpu
    """
    from autograder.layout import Layout

    wanted = Layout.discover().course.requirements
    pin = [f"torch=={wanted.torch}"] if wanted.torch else []
    for line in pin if torch else [*pin, *wanted.pip]:
        typer.echo(line)
