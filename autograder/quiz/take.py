"""`course quiz take`: answer a quiz in the terminal, one question at a time.

Every answer is saved at once to a JSON file (the same format `course quiz grade` reads), so a
student can quit with `:q` or lose the terminal and resume where they stopped. Input comes from
an `ask` function, so tests drive a whole session with a scripted list of lines.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console, Group
from rich.markdown import Markdown
from rich.panel import Panel
from rich.table import Table

from autograder.quiz.grading import QuizGrade, grade_variant, parse_response
from autograder.quiz.render import item_markdown
from autograder.quiz.variant import Variant
from autograder.yamlconf import ConfigError

HELP = (
    "Type your answer and press Enter. Enter alone keeps the saved answer and moves on. "
    "Commands: [bold]:b[/] back, [bold]:n[/] next (skip), [bold]:g N[/] go to question N, "
    "[bold]:q[/] save and quit, [bold]:?[/] this help."
)


@dataclass
class Session:
    """One student's saved answers; written after every change so nothing is lost."""

    path: Path
    module: str
    student: str
    answers: dict[str, str] = field(default_factory=dict)
    submitted: bool = False

    @classmethod
    def open(cls, path: Path, module: str, student: str) -> Session:
        if not path.is_file():
            return cls(path, module, student)
        data = json.loads(path.read_text(encoding="utf-8"))
        if (data.get("module"), data.get("student")) != (module, student):
            raise ConfigError(
                f"{path} holds answers of {data.get('student')!r} for {data.get('module')!r}, "
                f"not of {student!r} for {module!r}; pass another --save file"
            )
        return cls(path, module, student, dict(data.get("answers", {})), bool(data.get("submitted")))

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "module": self.module,
                    "student": self.student,
                    "answers": self.answers,
                    "submitted": self.submitted,
                },
                indent=1,
                ensure_ascii=False,
            )
        )
        os.replace(tmp, self.path)


def show_question(console: Console, variant: Variant, index: int, saved: str | None) -> None:
    item = variant.items[index]
    q = item.question
    title = (
        f"Question {index + 1} of {len(variant.items)} · {item.points:g} pt · {q.difficulty} · "
        f"{', '.join(q.tags)}"
    )
    parts: list[Markdown | str] = [Markdown(item_markdown(item).split("\n", 1)[1].strip())]
    if saved is not None:
        parts.append(f"[dim]saved answer: {saved}[/]")
    console.print(Panel(Group(*parts), title=title, title_align="left"))


def show_grade(console: Console, grade: QuizGrade) -> None:
    table = Table(title=f"{grade.student}: {grade.score:g} / {grade.max_score:g}", show_lines=True)
    for col in ("#", "score", "feedback"):
        table.add_column(col, overflow="fold")
    for r in grade.items:
        colour = "green" if r.correct else "yellow" if r.score > 0 else "red"
        table.add_row(str(r.number), f"[{colour}]{r.score:g}/{r.points:g}[/]", "\n".join(r.feedback))
    console.print(table)


def take(
    variant: Variant,
    session: Session,
    console: Console,
    ask: Callable[[str], str] | None = None,
    show_feedback: bool = True,
) -> QuizGrade | None:
    """Run the quiz until it is submitted (return the grade) or the student quits (return None)."""
    ask = ask or console.input
    items = variant.items
    if session.submitted:
        console.print(f"[bold]You already submitted this quiz.[/] Your answers are in {session.path}.")
        return _finish(console, variant, session, show_feedback)
    index = next((i for i, item in enumerate(items) if item.qid not in session.answers), 0)
    console.print(
        Panel(
            f"[bold]{variant.title}[/] · {len(items)} questions · {variant.max_score:g} points\n"
            + (f"Resuming: {len(session.answers)} answered.\n" if session.answers else "")
            + HELP,
            title=f"student {variant.student}",
        )
    )
    shown = None  # the question on screen: an invalid answer is asked again without redrawing it
    while True:
        if index >= len(items):
            missing = [str(i.number) for i in items if i.qid not in session.answers]
            console.print(
                f"[yellow]{len(missing)} unanswered: {', '.join(missing)}.[/]"
                if missing
                else "All questions answered."
            )
            try:
                reply = ask("Submit now? [y/N] ").strip().lower()
            except EOFError:
                return None
            if reply in ("y", "yes"):
                session.submitted = True
                session.save()
                return _finish(console, variant, session, show_feedback)
            index = next((i for i, item in enumerate(items) if item.qid not in session.answers), 0)
            shown = None
            continue
        item = items[index]
        if shown != index:
            show_question(console, variant, index, session.answers.get(item.qid))
            shown = index
        try:
            raw = ask(f"answer {index + 1}> ").strip()
        except EOFError:
            console.print(f"Saved to {session.path}; run the same command to resume.")
            return None
        if raw.startswith(":"):
            command, _, arg = raw[1:].strip().partition(" ")
            if command == "q":
                console.print(f"Saved to {session.path}; run the same command to resume.")
                return None
            if command == "b":
                index = max(0, index - 1)
            elif command == "n":
                index += 1
            elif command == "g" and arg.strip().isdigit() and 1 <= int(arg) <= len(items):
                index = int(arg) - 1
            else:
                console.print(HELP)
            shown = None
            continue
        if raw:
            try:
                session.answers[item.qid] = parse_response(item, raw)
            except ValueError as exc:
                console.print(f"[red]{exc}[/]")
                continue
            session.save()
        index += 1


def _finish(console: Console, variant: Variant, session: Session, show_feedback: bool) -> QuizGrade:
    grade = grade_variant(variant, session.answers)
    if show_feedback:
        show_grade(console, grade)
    else:
        console.print(f"Submitted. Hand in {session.path}.")
    return grade
