"""`course mutate MODULE`: how many plausible mistakes in the reference do the hidden graders catch?"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from autograder.mutate.report import MutantResult, Report

console = Console()


def mutate(
    module: str,
    function: Annotated[
        list[str] | None, typer.Option("--function", help="mutate only this function (repeatable)")
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="gradings run at once")] = 1,
    budget: Annotated[
        float | None, typer.Option(help="seconds: no mutant starts after them (default: no bound)")
    ] = None,
    regrade: Annotated[
        bool,
        typer.Option(help="grade again the mutants the last run graded (same hidden tests and reference)"),
    ] = False,
) -> None:
    """Grade mutants of the reference's solution regions (student-like mistakes) with the hidden
    tests that exercise each function; report per function what was killed, what survived and why.
    Results go to assignments/MODULE/mutants.json; mark equivalent survivors in
    assignments/MODULE/equivalent_mutants.yaml."""
    from autograder.layout import Layout
    from autograder.mutate.report import load_equivalents
    from autograder.mutate.run import mutate as run_mutate
    from autograder.yamlconf import ConfigError

    try:
        layout = Layout.discover()
        equivalents = load_equivalents(layout, module)
        report = run_mutate(layout, module, function, jobs, budget, progress=_progress, regrade=regrade)
    except ConfigError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    show(report, equivalents, layout.course.kill_rate_for(module))
    console.print(f"results in {layout.mutation_report(module)}")


def _progress(function: str, result: MutantResult) -> None:
    colour = {"killed": "green", "survived": "red", "skipped": "yellow"}[result.status]
    console.print(
        f"  {escape(result.id)} line {result.line}: [{colour}]{result.status}[/] "
        f"{escape(result.detail[:100])} ({result.seconds:.0f} s)",
        highlight=False,
    )


def show(report: Report, equivalents: dict[str, str], threshold: float) -> None:
    from autograder.mutate.report import stale_equivalents, tally  # pydantic models: not on `course grade`

    table = Table(title=f"course mutate {report.module} ({report.seconds:.0f} s)")
    for col in ("function", "mutants", "killed", "survived", "equivalent", "skipped", "kill rate", "tests"):
        table.add_column(col, overflow="fold")
    for name, result in report.functions.items():
        t = tally(result, equivalents)
        rate = "-" if t.rate is None else f"{t.rate:.0%}"
        colour = "yellow" if t.rate is None else "green" if t.rate >= threshold else "red"
        table.add_row(
            name,
            str(len(result.mutants)),
            str(t.killed),
            str(t.survived),
            str(t.equivalent),
            str(t.skipped),
            f"[{colour}]{rate}[/]",
            ", ".join(result.tests) or "[red]none[/]",
        )
    console.print(table)
    for result in report.functions.values():
        for m in result.mutants:
            if m.status == "survived" and m.id not in equivalents:
                body = "\n".join(line for line in m.diff.splitlines()[2:])
                console.print(
                    f"[red]survived[/] {escape(m.id)} (line {m.line}) {escape(m.detail)}\n{escape(body)}\n"
                )
    for name, result in report.functions.items():
        if skipped := [m for m in result.mutants if m.status == "skipped"]:
            console.print(f"[yellow]{name}: skipped {len(skipped)} mutants[/] ({escape(skipped[0].detail)})")
    for note in report.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    for stale in stale_equivalents(report, equivalents):
        console.print(f"[yellow]equivalent_mutants.yaml lists {escape(stale)}[/]")
