"""`course cluster worker`: add this machine to a Dask cluster that grades a class."""

from __future__ import annotations

import os
import shlex
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

cluster_app = typer.Typer(
    no_args_is_help=True, help="Batch grading on a Dask cluster (course grade --cluster)."
)
console = Console()


def worker_command(
    scheduler: str, resources: dict[str, float], slots: int, name: str, nanny: bool = True
) -> list[str]:
    """The `dask worker` a grading machine runs: one process holding the whole machine's resources
    (Dask counts resources per worker process, so a 6 GiB grading and small ones share one machine
    correctly), `slots` gradings at once (threads that only wait on their grading subprocess), and
    no memory limit: each grading is capped by its own sandbox, and the nanny must never kill the
    worker mid-grading for memory. The nanny restarts a worker that dies; its tasks go elsewhere."""
    declared = " ".join(f"{k}={v:.0f}" if k == "memory" else f"{k}={v:g}" for k, v in resources.items())
    return [
        str(Path(sys.executable).with_name("dask")),
        "worker",
        scheduler,
        "--nworkers",
        "1",
        "--nthreads",
        str(slots),
        "--memory-limit",
        "0",
        "--resources",
        declared,
        "--name",
        name,
        "--nanny" if nanny else "--no-nanny",
    ]


@cluster_app.command("worker")
def worker(
    scheduler: Annotated[str, typer.Option("--scheduler", help="the scheduler, e.g. tcp://host:8786")],
    slots: Annotated[int | None, typer.Option(help="gradings at once (default: the cores)")] = None,
    memory: Annotated[str | None, typer.Option(help="memory to offer, e.g. 24GiB (default: all)")] = None,
    cores: Annotated[float | None, typer.Option(help="cores to offer (default: all)")] = None,
    gpus: Annotated[int | None, typer.Option(help="GPUs to offer (default: /dev/nvidiaN found)")] = None,
    name: Annotated[str | None, typer.Option(help="worker name (default: the host name)")] = None,
    nanny: Annotated[bool, typer.Option(help="restart the worker process if it dies")] = True,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the dask worker command only")] = False,
) -> None:
    """Join this machine to SCHEDULER as a grading worker: runs `dask worker` in this course checkout,
    declaring the machine's memory, cores and GPUs as Dask resources (course.yaml `resources:`)."""
    from pydantic import TypeAdapter, ValidationError

    from autograder.batch.cluster import WORKER_ENV, machine_resources
    from autograder.config import Bytes
    from autograder.layout import Layout

    layout = Layout.discover()
    offered = machine_resources()
    if memory is not None:
        try:
            offered["memory"] = float(TypeAdapter(Bytes).validate_python(memory))
        except ValidationError:
            console.print(f"[bold red]error:[/] --memory {memory!r} is not a size such as 24GiB")
            raise typer.Exit(2) from None
    if cores is not None:
        offered["cores"] = cores
    if gpus is not None:
        offered = {k: v for k, v in offered.items() if k != "gpu"} | ({"gpu": float(gpus)} if gpus else {})
    cmd = worker_command(
        scheduler, offered, slots or max(1, int(offered["cores"])), name or socket.gethostname(), nanny
    )
    console.print(f"[bold]course {layout.root}[/]: {shlex.join(cmd)}", soft_wrap=True)
    if dry_run:
        return
    os.chdir(layout.root)
    os.execve(cmd[0], cmd, {**os.environ, "COURSE_ROOT": str(layout.root), **WORKER_ENV})
