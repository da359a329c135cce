"""`course image`: build the course's grading image offline, and grade in it as Gradescope does."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from autograder.image.run import PRESETS

if TYPE_CHECKING:
    from autograder.image.docker import Docker
    from autograder.layout import Layout

image_app = typer.Typer(no_args_is_help=True, help=__doc__)
console = Console()
err = Console(stderr=True)


def _fail(message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(2)


def _say(message: str) -> None:
    console.print(message, highlight=False)


def _docker() -> Docker:
    from autograder.image.daemon import DockerUnavailable, connect
    from autograder.image.docker import Docker

    try:
        host, started = connect()
    except DockerUnavailable as exc:
        _fail(str(exc))
    if started:
        _say(f"Docker: started a private daemon at {host} (`course image stop` stops it)")
    return Docker(host)


def _default_tag(layout: Layout) -> str:
    return f"{layout.course.course.id}-autograder:latest"


def _mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB"


@image_app.command()
def build(
    base: Annotated[
        str | None,
        typer.Option(help="base image already in the daemon (default: Debian bookworm, made here)"),
    ] = None,
    tag: Annotated[
        str | None, typer.Option(help="image name (default: <course id>-autograder:latest)")
    ] = None,
    module: Annotated[
        list[str] | None, typer.Option("--module", "-m", help="only this module (repeatable; default: all)")
    ] = None,
    torch_index: Annotated[
        str | None, typer.Option(help="pip index for torch when no local CPU wheel exists")
    ] = None,
) -> None:
    """Build the grading image from `course release`'s Gradescope zips, with no registry pull."""
    from autograder.image.base import BaseImageError, ensure_base
    from autograder.image.build import ImageBuildError, build_image
    from autograder.image.daemon import cache_dir
    from autograder.image.docker import DockerError
    from autograder.layout import Layout

    layout = Layout.discover()
    modules = module or [m.id for m in layout.course.modules]
    for m in modules:
        layout.course.module(m)
    tag = tag or _default_tag(layout)
    docker = _docker()
    try:
        if base is None:
            base = ensure_base(docker, cache_dir(), _say)
        elif not docker.exists(base):
            _fail(
                f"no image {base} in this Docker daemon (`docker load` or `docker import` it first; no pull)"
            )
        built = build_image(
            layout,
            docker,
            base=base,
            tag=tag,
            modules=modules,
            cache=cache_dir(),
            say=_say,
            torch_index=torch_index or os.environ.get("TORCH_INDEX"),
        )
    except (BaseImageError, ImageBuildError, DockerError) as exc:
        _fail(str(exc))
    table = Table(title=f"{built.tag}: {_mb(built.size)}, built in {built.seconds:.0f} s")
    table.add_column("size", justify="right")
    table.add_column("layer (what takes the room)")
    for step, size in built.layers[:8]:
        table.add_row(_mb(size), step)
    console.print(table)
    _say(
        f"modules: {', '.join(built.modules)}; "
        f"grade with `course image grade MODULE SUBMISSION --image {tag}`"
    )


@image_app.command()
def grade(
    module: str,
    submission: Annotated[
        Path, typer.Argument(help="one submission (folder, zip or file), or a folder of them")
    ],
    out: Annotated[
        Path, typer.Option("--out", help="folder for results.json (batch: one per student)")
    ] = Path("results"),
    image: Annotated[
        str | None, typer.Option(help="the image (default: <course id>-autograder:latest)")
    ] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="batch: containers at once")] = None,
    preset: Annotated[
        str | None,
        typer.Option(help="Gradescope hardware instead of the module's limits: " + ", ".join(PRESETS)),
    ] = None,
    pids: Annotated[int, typer.Option(help="process cap of the container")] = 1024,
    metadata: Annotated[Path | None, typer.Option(help="Gradescope submission_metadata.json")] = None,
    gradebook: Annotated[
        Path | None, typer.Option(help="batch: SQLite gradebook (default OUT/gradebook.sqlite)")
    ] = None,
    times: Annotated[Path | None, typer.Option(help="batch: CSV student_id,submitted_at")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="print nothing but errors")] = False,
) -> None:
    """Grade in a fresh container per submission, exactly as Gradescope: --network none, capped memory,
    CPUs and processes. With --jobs, SUBMISSION is a folder of per-student submissions."""
    from autograder.image.run import grade_in_container, module_hardware
    from autograder.layout import Layout
    from autograder.yamlconf import ConfigError

    layout = Layout.discover()
    try:
        mod = layout.course.module(module)
    except ConfigError as exc:  # an unknown module
        _fail(str(exc))
    if not submission.exists():
        _fail(f"no submission at {submission}")
    if preset and preset not in PRESETS:
        _fail(f"unknown preset {preset!r}: use one of {', '.join(PRESETS)}")
    limits = layout.course.limits_for(module)
    hardware = PRESETS[preset] if preset else module_hardware(limits)
    docker = _docker()
    image = image or _default_tag(layout)
    if not docker.exists(image):
        _fail(f"no image {image} in this Docker daemon: run `course image build` first")

    def grade_one(sub: Path, dest: Path) -> dict[str, Any]:
        return grade_in_container(
            docker,
            image,
            module,
            sub,
            dest,
            limits=limits,
            hardware=hardware,
            max_score=mod.points,
            metadata=metadata,
            pids=pids,
        )

    if jobs is not None:
        from autograder.batch import BatchError
        from autograder.gradebook import Gradebook
        from autograder.gradebook.late import load_times
        from autograder.image.batch import grade_batch

        out.mkdir(parents=True, exist_ok=True)
        try:
            with Gradebook(gradebook or out / "gradebook.sqlite") as book:
                done = grade_batch(
                    layout,
                    module,
                    submission,
                    out,
                    book,
                    grade_one,
                    jobs=jobs,
                    times=load_times(times) if times else None,
                )
        except (BatchError, OSError, ValueError) as exc:
            _fail(str(exc))
        table = Table(title=f"{module} in {image}: {len(done)} submissions")
        for col in ("student", "status", "raw", "final"):
            table.add_column(col)
        for g in sorted(done, key=lambda g: g.student):
            table.add_row(g.student, g.status, f"{g.raw:g}/{g.max_score:g}", f"{g.final:g}")
        if not quiet:
            console.print(table)
        if any(g.status == "error" for g in done):
            raise typer.Exit(1)
        return
    results = grade_one(submission, out)
    if quiet:
        return
    from autograder.grade.results import results_table

    console.print(results_table(results, f"{module} in {image} (--network none)"))
    sandbox = results.get("extra_data", {}).get("sandbox")
    _say(f"results: {out / 'results.json'}; sandbox in the container: {sandbox}")


@image_app.command()
def check(
    modules: Annotated[list[str] | None, typer.Argument(help="modules to check (default: all)")] = None,
    image: Annotated[
        str | None, typer.Option(help="the image (default: <course id>-autograder:latest)")
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="gradings at once")] = 1,
    keep: Annotated[
        Path | None, typer.Option(help="keep every results.json here (MODULE/SUBMISSION/host|container)")
    ] = None,
) -> None:
    """Before uploading an image: grade each module's reference, starter and a mistake on this
    machine and in the image, and show where the two results differ (exit 1 if they do)."""
    from autograder.image.check import Comparison, check_modules
    from autograder.layout import Layout
    from autograder.yamlconf import ConfigError

    layout = Layout.discover()
    ids = modules or [m.id for m in layout.course.modules]
    try:
        for m in ids:
            layout.course.module(m)
    except ConfigError as exc:  # an unknown module
        _fail(str(exc))
    docker = _docker()
    image = image or _default_tag(layout)
    if not docker.exists(image):
        _fail(f"no image {image} in this Docker daemon: run `course image build` first")

    def show(module: str, compared: list[Comparison]) -> None:
        table = Table(title=f"{module}: course grade here vs. {image}")
        for col in ("submission", "host", "container", "verdict"):
            table.add_column(col)
        for c in compared:
            verdict = "[green]equal[/]" if not c.differences else f"[red]{len(c.differences)} differ[/]"
            table.add_row(c.submission, f"{c.host['score']:g}", f"{c.container['score']:g}", verdict)
        console.print(table)
        for c in compared:
            for d in c.differences:
                _say(f"  {c.submission}: {d.where}")
                _say(f"    host:      {_short(d.host)}\n    container: {_short(d.container)}")

    results = check_modules(layout, docker, image, ids, jobs=jobs, keep=keep, done=show)
    differing = [c for compared in results.values() for c in compared if c.differences]
    if any(d.where == "extra_data.grader_version" for c in differing for d in c.differences):
        _say(f"{image} holds other graders or framework than this checkout: `course image build` again")
    if differing:
        err.print(f"[bold red]{len(differing)} of {sum(map(len, results.values()))} gradings differ[/]")
        raise typer.Exit(1)
    _say(f"{image} grades {', '.join(ids)} exactly as this machine does")


def _short(value: Any, width: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= width else text[:width] + f"... ({len(text)} characters)"


@image_app.command()
def stop() -> None:
    """Stop the private Docker daemon `course image` started (images and layers stay cached)."""
    from autograder.image.daemon import PrivateDaemon, cache_dir

    daemon = PrivateDaemon(cache_dir() / "docker")
    if daemon.pid() is None:
        _say("no private daemon is running")
        return
    daemon.stop()
    _say("private Docker daemon stopped")
