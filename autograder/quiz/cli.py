"""`course quiz ...`: take, render, grade, analyse and export a module's quiz.

Only typer and rich are imported here; each command imports what it needs, so `course --help`
stays fast.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from autograder.quiz.grading import QuizGrade
    from autograder.quiz.variant import Quiz

quiz_app = typer.Typer(
    no_args_is_help=True, help="Quizzes: per-student variants, grading, item analysis, LMS export."
)
console = Console()
err = Console(stderr=True)


def _quiz(module: str) -> Quiz:
    from autograder.layout import Layout
    from autograder.quiz.variant import load_quiz
    from autograder.yamlconf import ConfigError

    try:
        return load_quiz(Layout.discover(), module)
    except ConfigError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None


def _write(text: str | bytes, out: Path | None) -> None:
    if out is None:
        console.out(text if isinstance(text, str) else text.decode(), highlight=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        out.write_bytes(text)
    else:
        out.write_text(text, encoding="utf-8")
    err.print(f"wrote {out}")


@quiz_app.command()
def take(
    module: str,
    student: Annotated[
        str | None, typer.Option("--student", "-s", help="your student id (default: $USER)")
    ] = None,
    save: Annotated[
        Path | None, typer.Option(help="answers file (default: quiz-MODULE-STUDENT.json)")
    ] = None,
    feedback: Annotated[bool, typer.Option(help="show scores and feedback after submitting")] = True,
) -> None:
    """Answer MODULE's quiz in the terminal; answers are saved as you go, and rerunning resumes."""
    from autograder.quiz.grading import safe_name
    from autograder.quiz.take import Session
    from autograder.quiz.take import take as run_take
    from autograder.yamlconf import ConfigError

    student = student or getpass.getuser()
    quiz = _quiz(module)
    path = save or Path(f"quiz-{module}-{safe_name(student)}.json")
    try:
        session = Session.open(path, module, student)
    except ConfigError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    run_take(quiz.variant(student), session, console, show_feedback=feedback)


@quiz_app.command()
def render(
    module: str,
    student: Annotated[str, typer.Option("--student", "-s", help="student id (the variant depends on it)")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="md | html | ipynb")] = "md",
    key: Annotated[
        bool, typer.Option("--key", help="include answers and feedback (instructor copy)")
    ] = False,
    seed: Annotated[
        int | None, typer.Option(help="the variant number printed on a copy (overrides the student's)")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="file to write (default: stdout)")] = None,
) -> None:
    """Print STUDENT's exact variant of MODULE's quiz, as Markdown, HTML or a notebook."""
    from autograder.quiz.render import FORMATS
    from autograder.quiz.render import render as run_render

    if fmt not in FORMATS:
        err.print(f"[bold red]error:[/] --format must be one of {', '.join(FORMATS)}")
        raise typer.Exit(2)
    _write(run_render(_quiz(module).variant(student, seed), fmt, key=key), out)


def _graded(module: str, responses: Path) -> tuple[Quiz, list[QuizGrade]]:
    from autograder.quiz.grading import grade_responses, read_responses
    from autograder.yamlconf import ConfigError

    quiz = _quiz(module)
    try:
        return quiz, grade_responses(quiz, read_responses(responses))
    except ConfigError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None


@quiz_app.command()
def grade(
    module: str,
    responses: Annotated[Path, typer.Argument(help="CSV (student + one column per question id) or JSON")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="folder for grades.csv and feedback/ (default: results/quiz/MODULE)"
        ),
    ] = None,
    gradebook: Annotated[
        Path | None, typer.Option(help="also record in this SQLite gradebook, as MODULE-quiz")
    ] = None,
) -> None:
    """Grade each student's answers against their own variant: OUT/grades.csv and
    OUT/feedback/<student>.json."""
    from autograder.quiz.grading import write_feedback, write_grades_csv

    quiz, grades = _graded(module, responses)
    out = out or Path("results") / "quiz" / module
    write_grades_csv(grades, [q.id for q in quiz.bank.questions], out / "grades.csv")
    write_feedback(grades, out / "feedback")
    if gradebook:
        from autograder.gradebook import quiz_module
        from autograder.quiz.gradebook import record

        recorded, skipped = record(quiz, grades, gradebook)
        console.print(
            f"gradebook {gradebook}: {recorded} recorded as {quiz_module(module)}, {skipped} unchanged"
        )
    table = Table(title=f"{module}: {len(grades)} students")
    for col in ("student", "score", "percent", "ignored answers"):
        table.add_column(col)
    for g in grades:
        table.add_row(
            g.student,
            f"{g.score:g}/{g.max_score:g}",
            f"{100 * g.score / g.max_score:.0f}%",
            ", ".join(g.ignored),
        )
    console.print(table)
    console.print(f"grades in {out / 'grades.csv'}, feedback in {out / 'feedback'}/")


@quiz_app.command()
def analyze(
    module: str,
    responses: Annotated[Path, typer.Argument(help="the responses file given to `course quiz grade`")],
    html: Annotated[Path | None, typer.Option(help="also write an HTML report with plots")] = None,
) -> None:
    """Item analysis: difficulty and discrimination per question, and the score distribution."""
    from autograder.quiz.analysis import LOW_DISCRIMINATION, analyse, report_html

    quiz, grades = _graded(module, responses)
    result = analyse(quiz.bank, grades)
    table = Table(
        title=f"{module}: {result.n_students} students, mean {result.mean:.1f}%, "
        f"median {result.median:.1f}%, sd {result.stdev:.1f}"
    )
    for col in ("question", "n", "difficulty", "mean credit", "discrimination"):
        table.add_column(col, justify="left" if col == "question" else "right")
    for s in result.items:
        disc = "n/a" if s.discrimination is None else f"{s.discrimination:.2f}"
        table.add_row(
            s.qid,
            str(s.n),
            f"{s.difficulty:.2f}",
            f"{s.mean_credit:.2f}",
            f"[red]{disc}[/]" if s.flagged() else disc,
        )
    console.print(table)
    console.print("score distribution (10-point bins): " + " ".join(str(c) for c in result.histogram()))
    console.print(
        "mean credit by learning objective: "
        + ", ".join(f"{tag} {credit:.2f}" for tag, credit in result.by_tag().items())
    )
    console.print(f"[dim]red: discrimination below {LOW_DISCRIMINATION}; revise or check the key[/]")
    if html:
        _write(report_html(result, f"{quiz.bank.quiz.title} ({module})"), html)


@quiz_app.command()
def export(
    module: str,
    fmt: Annotated[str, typer.Option("--format", "-f", help="gift (Moodle) | qti (Canvas, a .zip)")] = "gift",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="default: MODULE.gift.txt or MODULE.qti.zip")
    ] = None,
    instances: Annotated[int, typer.Option(min=1, help="copies of each parameterised question")] = 1,
) -> None:
    """Export MODULE's bank for an LMS: Moodle GIFT or a Canvas QTI 1.2 package."""
    from autograder.quiz.gift import export_gift
    from autograder.quiz.qti import export_qti_zip

    quiz = _quiz(module)
    if fmt == "gift":
        _write(export_gift(quiz, instances), out or Path(f"{module}.gift.txt"))
    elif fmt == "qti":
        _write(export_qti_zip(quiz, instances), out or Path(f"{module}.qti.zip"))
    else:
        err.print("[bold red]error:[/] --format must be gift or qti")
        raise typer.Exit(2)
