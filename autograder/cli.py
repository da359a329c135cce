"""The `course` command: one verb per thing an instructor, a student or a TA does."""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
import traceback
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from autograder.batch import looks_like_batch
from autograder.grade.results import results_table
from autograder.grade.runner import Suite  # typer reads annotations at run time
from autograder.mutate.cli import mutate
from autograder.release.cli import requirements
from autograder.scaffold.cli import new

if TYPE_CHECKING:
    from typer._click import Command, Context

    from autograder.layout import Layout

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # grading and checks never touch the network unless asked
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

console = Console()
err = Console(stderr=True)


def _gradebook_app() -> typer.Typer:
    from autograder.batch.grader import write_report
    from autograder.gradebook.cli import gradebook_app
    from autograder.nbgrader.cli import write_back

    return gradebook_app(report=write_report, formats={"nbgrader": write_back})


def _group(module: str, name: str) -> Callable[[], typer.Typer]:
    return lambda: getattr(importlib.import_module(module), name)


# The command groups, each imported when it runs (or --help lists it): `course grade` pays for none
# of them (the batch code, jinja2, the portal's and the hub's modules: 80 ms of every grading).
GROUPS: dict[str, Callable[[], typer.Typer]] = {
    "quiz": _group("autograder.quiz.cli", "quiz_app"),
    "hub": _group("autograder.hub.cli", "hub_app"),
    "export": _group("autograder.nbgrader.cli", "export_app"),
    "import": _group("autograder.nbgrader.cli", "import_app"),
    "cluster": _group("autograder.batch.cli", "cluster_app"),
    "image": _group("autograder.image.cli", "image_app"),
    "portal": _group("autograder.portal.cli", "portal_app"),
    "gradebook": _gradebook_app,
}


class _Commands(TyperGroup):
    """Every command's configuration error (course.yaml, a bank, mistakes.yaml) is one line that says
    where and how to fix it, then exit status 2: never a traceback."""

    def list_commands(self, ctx: Context) -> list[str]:
        return [*super().list_commands(ctx), *GROUPS]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in GROUPS:
            return super().get_command(ctx, cmd_name)
        group = typer.main.get_group(GROUPS[cmd_name]())
        group.name = cmd_name
        return group

    def invoke(self, ctx: typer.Context) -> object:  # type: ignore[override]  # typer passes its own Context
        from autograder.yamlconf import ConfigError

        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            err.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None


app = typer.Typer(cls=_Commands, add_completion=False, no_args_is_help=True, help=__doc__)
app.command()(mutate)
app.command()(requirements)
app.command()(new)


def _layout() -> Layout:
    from autograder.layout import Layout

    return Layout.discover()


def _fail(message: str) -> NoReturn:
    err.print("[bold red]error:[/] ", end="")
    err.print(message, markup=False, emoji=False, highlight=False)  # a path or address, verbatim
    raise typer.Exit(2)


@app.command()
def grade(
    module: str,
    submission: Annotated[
        Path, typer.Argument(help="one submission, or (batch) a folder of per-student ones")
    ],
    out: Annotated[
        Path, typer.Option("--out", help="folder for results.json (batch: one folder per student)")
    ] = Path("results"),
    suite: Annotated[Suite, typer.Option(help="hidden (graders) or public (checks)")] = "hidden",
    seed: Annotated[int | None, typer.Option(help="override the course seed")] = None,
    sandbox: Annotated[str | None, typer.Option(help="auto | bwrap | uid | none")] = None,
    metadata: Annotated[
        Path | None, typer.Option(help="Gradescope submission_metadata.json (late policy)")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="print nothing but errors")] = False,
    only: Annotated[list[str] | None, typer.Option(help="run only this test function (repeatable)")] = None,
    first_failure: Annotated[
        bool,
        typer.Option(
            "--first-failure",
            help="stop at the first failing test (course mutate: one failure kills a mutant)",
        ),
    ] = False,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="batch mode: gradings run at once")] = None,
    batch: Annotated[
        bool, typer.Option("--batch", help="batch mode: SUBMISSION holds one entry per student")
    ] = False,
    gradebook: Annotated[
        Path | None, typer.Option(help="batch: SQLite gradebook (default OUT/gradebook.sqlite)")
    ] = None,
    times: Annotated[
        Path | None, typer.Option(help="batch: CSV student_id,submitted_at (default: file mtimes)")
    ] = None,
    extensions: Annotated[
        Path | None, typer.Option(help="batch: CSV student_id,extra_days or student_id,due")
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(help="batch on Dask: a scheduler (tcp://host:8786) or local:N (N worker processes)"),
    ] = None,
) -> None:
    """Grade one submission (a folder, .zip, .py or .ipynb) into OUT/results.json.

    With --jobs or --batch, SUBMISSION is a folder holding one subfolder or zip per student, named by
    student id: each is graded in its own process into OUT/<student>/, recorded in the gradebook.
    nbgrader's collected folder (submitted/<student>/MODULE/) is always graded as a batch.
    """
    from autograder.nbgrader.layout import collected  # pathlib only: nbgrader itself is never imported

    if jobs is not None or batch or cluster or collected(submission, module) is not None:
        _grade_batch(
            module,
            submission,
            out,
            jobs or max(1, (os.cpu_count() or 2) // 2),
            gradebook,
            times,
            extensions,
            suite,
            [
                *(["--seed", str(seed)] if seed is not None else []),
                *(["--sandbox", sandbox] if sandbox else []),
            ],
            cluster,
        )
        return
    from autograder.grade.bounded import bound_memory, end_grading_child
    from autograder.grade.results import failure_results

    out.mkdir(parents=True, exist_ok=True)
    checked = _refuse_operator_errors(module, submission, out)
    in_child = False
    try:
        from autograder.grade.runner import grade as run_grade

        layout = checked or _layout()
        limits, points = layout.course.limits_for(module), layout.course.module(module).points
        bound_memory(out / "results.json", limits.grader_memory, points)  # grades in a child process
        in_child = True
        results = run_grade(
            layout,
            module,
            submission,
            out,
            suite=suite,
            seed=seed,
            sandbox=sandbox,
            only=only,
            first_failure=first_failure,
        ).to_json()
    except Exception as exc:  # noqa: BLE001 - whatever failed, the student gets a results file
        # results.json is written, so the exit status is 0 (the contract); scripts and batch grading
        # tell this case by extra_data.grader_failed.
        (out / "grader.log").write_text(traceback.format_exc())
        failure_results(
            f"The autograder failed before it could grade your work ({type(exc).__name__}: {exc}). "
            "Your instructor has been told.",
            0.0,
            {"grader_failed": f"{type(exc).__name__}: {exc}"},
        ).write(out / "results.json")
        err.print(f"[red]grading failed:[/] {exc} (details in {out / 'grader.log'})")
        if in_child:
            end_grading_child()
        return
    if metadata is not None:
        results = _apply_late(layout, module, metadata, results, out)
    if not quiet:
        console.print(results_table(results, f"{module}: {submission}"))
        console.print(f"results written to {out / 'results.json'}")
        if results["score"] == 0 and looks_like_batch(submission, layout.course.module(module).files):
            err.print(
                f"[yellow]{submission} looks like a folder of per-student submissions: "
                "add --jobs N to grade it as a batch.[/]"
            )
    end_grading_child()


def _refuse_operator_errors(module: str, submission: Path, out: Path) -> Layout | None:
    """A path that does not exist or a module the course lacks is the TA's mistake, not the student's
    zero: results.json says the grader failed (extra_data.grader_failed), and the exit status is 2.
    Returns the course it read, unless course.yaml is broken (the grading reports that)."""
    from autograder.grade.results import failure_results
    from autograder.yamlconf import ConfigError

    problem = None
    if not submission.exists() and not submission.is_symlink():
        problem = f"no submission at {submission}: check the path"
    else:
        try:
            layout = _layout()
            course = layout.course
        except ConfigError:
            return None  # a broken course: the grader's own failure, reported as such by the grading
        try:
            course.module(module)
        except ConfigError as exc:
            problem = str(exc)
    if problem is None:
        return layout
    failure_results(
        f"The autograder was started wrongly ({problem}). "
        "This is not a grade: your instructor has been told.",
        0.0,
        {"grader_failed": problem, "operator_error": True},
    ).write(out / "results.json")
    _fail(f"{problem} (nothing was graded; {out / 'results.json'} says so)")


def _apply_late(
    layout: Layout, module: str, metadata: Path, results: dict[str, Any], out: Path
) -> dict[str, Any]:
    """Late policy from course.yaml, times from Gradescope's metadata; a bad file means no penalty."""
    from autograder.grade.results import write_json_atomic
    from autograder.gradebook.late import apply_to_results, assess, from_gradescope

    try:
        submitted, due = from_gradescope(metadata)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        err.print(f"[yellow]warning:[/] cannot read {metadata} ({exc}); no late policy applied")
        return results
    lateness = assess(layout.course.late_for(module), due or layout.course.module(module).due, submitted)
    results = apply_to_results(results, lateness)
    write_json_atomic(out / "results.json", results)
    return results


def _grade_batch(
    module: str,
    folder: Path,
    out: Path,
    jobs: int,
    gradebook: Path | None,
    times: Path | None,
    extensions: Path | None,
    suite: Suite,
    grade_args: list[str],
    cluster: str | None = None,
) -> None:
    from autograder.batch import BatchError, discover
    from autograder.batch.cluster import ClusterGrader
    from autograder.batch.grader import BatchGrader, summary_table, write_report
    from autograder.gradebook import Gradebook
    from autograder.gradebook.late import load_extensions, load_times
    from autograder.nbgrader.layout import collected_times
    from autograder.yamlconf import ConfigError

    try:
        layout = _layout()
        layout.course.module(module)
        subs = discover(folder, skip=out, module=module)
        if not subs:  # a TA's wrong folder is not a run that graded nobody
            raise BatchError(
                f"no submissions in {folder}: a class folder holds one folder, zip, .py or .ipynb per "
                "student (or nbgrader's submitted/ layout)"
            )
        time_of = {**collected_times(subs), **(load_times(times) if times else {})}
        extra = load_extensions(extensions) if extensions else {}
    except (BatchError, ConfigError, OSError, ValueError) as exc:
        _fail(str(exc))
    out.mkdir(parents=True, exist_ok=True)
    with Gradebook(gradebook or out / "gradebook.sqlite") as book:
        grader = (ClusterGrader if cluster else BatchGrader)(
            layout,
            module,
            out,
            book,
            jobs=jobs,
            times=time_of,
            extensions=extra,
            suite=suite,
            grade_args=grade_args,
            console=console,
            **({"cluster": cluster} if cluster else {}),
        )
        try:
            outcomes = grader.run(subs)
        except BatchError as exc:  # the cluster cannot grade this batch; what finished is kept
            _fail(str(exc))
        report = write_report(layout, module, book, out / "report.html")
    console.print(summary_table(outcomes, f"{module}: {len(outcomes)} submissions from {folder}"))
    console.print(f"results in {out}/<student>/, gradebook {book.path}, report {report}")
    if any(o.status == "error" for o in outcomes):
        err.print(
            "[red]some gradings failed (status error): see OUT/<student>/grade.log; a re-run retries them[/]"
        )
        raise typer.Exit(1)


@app.command()
def check(
    module: str,
    folder: Annotated[
        Path | None, typer.Argument(help="folder with your files (default: ./MODULE or .)")
    ] = None,
) -> None:
    """Run a module's public checks on your work, with the same machinery as the real grader."""
    layout = _layout()
    if folder is None:
        folder = Path(module) if Path(module).is_dir() else Path.cwd()
    from autograder.grade.runner import grade as run_grade

    with tempfile.TemporaryDirectory() as tmp:
        results = run_grade(layout, module, folder, Path(tmp), suite="public").to_json()
    console.print(results_table(results, f"public checks for {module}"))
    for t in results["tests"]:
        if t["status"] != "passed":
            console.print(f"[red]✗ {t['name']}[/]\n{t['output']}\n")
    console.print(
        "[bold yellow]These are the public checks only.[/] Hidden tests on inputs you have not seen "
        "will also grade your work when you submit: passing here does not guarantee full marks."
    )


@app.command()
def submit(
    module: str,
    folder: Annotated[
        Path | None, typer.Argument(help="folder with your files (default: ./MODULE or .)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="zip to write")] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="the course portal's URL: upload the zip there")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(envvar="COURSE_TOKEN", help="your personal portal token (or env COURSE_TOKEN)"),
    ] = None,
) -> None:
    """Pack your files for MODULE into a zip to upload (with --to, upload it to the course portal)."""
    layout = _layout()
    mod = layout.course.module(module)
    if folder is None:
        folder = Path(module) if Path(module).is_dir() else Path.cwd()
    if to and not token:
        _fail("--to needs your personal token: --token TOKEN or the COURSE_TOKEN environment variable")
    if to and out is None:
        with tempfile.TemporaryDirectory() as tmp:
            submit(module, folder, Path(tmp) / f"{module}-submission.zip", to, token)
        return
    out = out or Path(f"{module}-submission.zip")
    packed = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in mod.files:
            for candidate in (folder / name, (folder / name).with_suffix(".ipynb")):
                if candidate.is_file():
                    zf.write(candidate, candidate.name)
                    packed.append(candidate.name)
    if not packed:
        out.unlink()
        _fail(f"none of {', '.join(mod.files)} (or their .ipynb) is in {folder}")
    if to:
        from autograder.portal.client import UploadError, upload

        try:
            answer = upload(to, token or "", module, out)
        except UploadError as exc:
            _fail(str(exc))
        console.print(f"uploaded {', '.join(packed)}: submission {answer['id']} is queued at {to}")
        return
    console.print(f"packed {', '.join(packed)} into [bold]{out}[/]: upload it to Gradescope.")


@app.command()
def release(
    modules: Annotated[list[str] | None, typer.Argument(help="modules to build (default: all)")] = None,
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("release"),
) -> None:
    """Build OUT/student/<module>/ and OUT/autograder/<module>.zip from reference/."""
    from autograder.release.build import GRADESCOPE_MAX_TIMEOUT_MINUTES, build_release

    layout = _layout()
    try:
        built = build_release(layout, out, modules or None)
    except Exception as exc:  # noqa: BLE001
        _fail(str(exc))
    table = Table(title=f"release in {out}")
    for col in ("module", "student folder", "autograder zip", "sha256", "Gradescope timeout"):
        table.add_column(col)
    for r in built:
        timeout = f"{r.gradescope_timeout} min"
        if r.gradescope_timeout > GRADESCOPE_MAX_TIMEOUT_MINUTES:
            timeout = (
                f"[red]{timeout}: over Gradescope's {GRADESCOPE_MAX_TIMEOUT_MINUTES}; lower limits.wall[/]"
            )
        table.add_row(r.module, str(r.student_dir), str(r.autograder_zip), r.sha256[:16], timeout)
    console.print(table)
    console.print(
        "Set each assignment's autograder timeout on Gradescope to at least the time shown: the "
        "module's wall limit then stops a slow grading first, and every finished test is kept."
    )


@app.command()
def validate(
    modules: Annotated[list[str] | None, typer.Argument()] = None,
    jobs: Annotated[int, typer.Option(help="gradings run at once")] = 2,
) -> None:
    """Check every module's graders: reference full marks, starter 0, mistakes caught, no leaks."""
    from autograder.validate import validate as run_validate

    checks = run_validate(_layout(), modules or None, jobs)
    table = Table(title="course validate")
    for col in ("module", "check", "ok", "detail", "s"):
        table.add_column(col, overflow="fold")
    for c in checks:
        table.add_row(
            c.module, c.name, "[green]ok[/]" if c.ok else "[red]FAIL[/]", c.detail, f"{c.seconds:.1f}"
        )
    console.print(table)
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


@app.command()
def assets(
    names: Annotated[list[str] | None, typer.Argument(help="assets to resolve (default: all)")] = None,
    rebuild: Annotated[bool, typer.Option(help="rebuild built assets even if cached")] = False,
    verify: Annotated[bool, typer.Option(help="re-hash built assets and compare")] = False,
) -> None:
    """Resolve (and build, once) every model and dataset the course names."""
    from autograder.assets import AssetError, AssetStore

    layout = _layout()
    store = AssetStore(layout.course, layout.root, layout.asset_cache)
    table = Table(title=f"assets (cache: {layout.asset_cache})")
    for col in ("asset", "source", "path", "sha256", "build s"):
        table.add_column(col, overflow="fold")
    failed = False
    # A student's copy has no hidden assets to build: those are the grader's alone.
    everything = [n for n, a in layout.course.assets.items() if layout.is_instructor or not a.hidden]
    for name in names or everything:
        try:
            r = store.resolve(name, rebuild=rebuild)
            if verify and not store.verify(name):
                raise AssetError(f"{name}: cached files do not match their recorded hash; run with --rebuild")
            table.add_row(name, r.source, str(r.path), r.content_hash[:16], f"{r.seconds:.1f}")
        except Exception as exc:  # noqa: BLE001
            failed = True
            table.add_row(name, "[red]missing[/]", str(exc), "", "")
    console.print(table)
    if failed:
        raise typer.Exit(1)


@app.command()
def demo(
    out: Annotated[Path, typer.Option()] = Path("release"),
    all_modules: Annotated[
        bool, typer.Option("--all", help="validate every module (slow: trains models)")
    ] = False,
) -> None:
    """Validate, build the release, grade the reference and a wrong submission, print the scores.

    The first module is validated unless --all is given; `course validate` proves every module.
    """
    from autograder.grade.runner import grade as run_grade
    from autograder.grade.submissions import reference_submission
    from autograder.validate import load_mistakes, mistake_submission

    layout = _layout()
    module = layout.course.modules[0].id
    console.rule("1. assets")
    assets(None, False, False)
    console.rule("2. validate")
    validate(None if all_modules else [module], 2)
    console.rule("3. release")
    release(None, out)
    mistakes = load_mistakes(layout, module)
    demo_dir = out / "demo"
    shutil.rmtree(demo_dir, ignore_errors=True)
    console.rule(f"4. grade {module}")
    ref = reference_submission(layout, module, demo_dir / "reference-submission")
    res = run_grade(layout, module, ref, demo_dir / "reference-results").to_json()
    console.print(results_table(res, "the reference solution"))
    if mistakes:
        wrong = mistake_submission(layout, module, mistakes[0], demo_dir / "wrong-submission")
        res = run_grade(layout, module, wrong, demo_dir / "wrong-results").to_json()
        console.print(results_table(res, f"a wrong submission ({mistakes[0].name})"))
        failed = next((t for t in res["tests"] if t["status"] != "passed"), None)
        if failed:
            console.print(f"[bold]What that student reads for “{failed['name']}”:[/]\n{failed['output']}")
    console.print(f"\nresults.json files are in {demo_dir}; the release is in {out}.")


if __name__ == "__main__":
    sys.exit(app())
