"""Feedback: a report per student (HTML and Markdown) and one for the instructor (HTML with plots).

The student report is built from results.json fields only: each shown test's name, outcome and
the message its grader wrote. A test marked `after_due_date` appears only once the student's own due
date (extensions included) has passed; `hidden` and `after_published` tests never appear, and
while any test is withheld the total is not shown either, since it would give their outcome away.
"""

from __future__ import annotations

import base64
import io
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import jinja2

from autograder.grade.results import score_text
from autograder.gradebook import Row
from autograder.gradebook.late import aware

if TYPE_CHECKING:  # matplotlib loads only where a plot is drawn: a single grading never draws one
    from matplotlib.figure import Figure

_html = jinja2.Environment(
    loader=jinja2.PackageLoader("autograder.feedback", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
_text = jinja2.Environment(
    loader=jinja2.PackageLoader("autograder.feedback", "templates"),
    autoescape=False,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass
class ShownTest:
    number: str
    name: str
    passed: bool
    score: float
    max_score: float
    score_text: str
    message: str


@dataclass
class StudentFeedback:
    student: str
    module: str
    title: str
    tests: list[ShownTest]
    withheld: int  # tests graded but not shown yet
    shown_score: float
    shown_max: float
    total: float | None  # None while tests are withheld
    total_max: float
    output: str
    leaderboard: list[dict[str, Any]] = field(default_factory=list)


def shown(visibility: str, now: datetime, due: datetime | None) -> bool:
    if visibility == "visible":
        return True
    if visibility == "after_due_date":
        return due is None or aware(now) >= aware(due)
    return False  # hidden, after_published: released by the instructor, not by this report


def student_feedback(
    results: dict[str, Any],
    *,
    student: str,
    module: str,
    title: str,
    due: datetime | None,
    now: datetime | None = None,
) -> StudentFeedback:
    now = now or datetime.now(UTC)
    tests, withheld = [], 0
    for t in results.get("tests", []):
        if not shown(t.get("visibility", "visible"), now, due):
            withheld += 1
            continue
        passed = t.get("status") == "passed"
        tests.append(
            ShownTest(
                t["number"],
                t["name"],
                passed,
                t["score"],
                t["max_score"],
                score_text(t),
                "" if passed else t.get("output", ""),
            )
        )
    return StudentFeedback(
        student=student,
        module=module,
        title=title,
        tests=tests,
        withheld=withheld,
        shown_score=round(sum(t.score for t in tests), 4),
        shown_max=round(sum(t.max_score for t in tests), 4),
        total=None if withheld else results.get("score"),
        total_max=round(sum(t["max_score"] for t in results.get("tests", [])), 4),
        output=results.get("output", ""),
        leaderboard=results.get("leaderboard", []) if not withheld else [],
    )


def render_student_html(fb: StudentFeedback) -> str:
    return _html.get_template("feedback.html.j2").render(fb=fb)


def render_student_markdown(fb: StudentFeedback) -> str:
    return _text.get_template("feedback.md.j2").render(fb=fb)


# -- the instructor's report -----------------------------------------------------------------------
def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def grade_histogram(rows: list[Row], points: float) -> str:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(6, 3))
    ax = fig.add_subplot()
    points = max([points, *(r.final_score for r in rows)])  # extra credit can take a score past the points
    bins = [i - 0.5 for i in range(int(points) + 2)] if points <= 30 else 20  # one bar per point when few
    ax.hist(
        [r.final_score for r in rows],
        bins=bins,
        range=None if points <= 30 else (0, points),
        color="#3b6ea8",
        edgecolor="white",
    )
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("final score")
    ax.set_ylabel("students")
    ax.set_title("Grade distribution")
    return _png(fig)


def pass_rates(rows: list[Row]) -> list[tuple[str, float, int]]:
    """(test name, fraction of submissions passing it, submissions that ran it), in test order."""
    counts: dict[str, list[int]] = {}
    for row in rows:
        for t in row.results.get("tests", []):
            c = counts.setdefault(f"{t['number']}. {t['name']}", [0, 0])
            c[0] += t.get("status") == "passed"
            c[1] += 1
    return [(name, passed / total, total) for name, (passed, total) in counts.items()]


def pass_rate_chart(rates: list[tuple[str, float, int]]) -> str:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 0.4 * len(rates) + 1.2))
    ax = fig.add_subplot()
    names = [n if len(n) <= 60 else n[:57] + "..." for n, _, _ in rates]
    ax.barh(names[::-1], [100 * r for _, r, _ in rates][::-1], color="#4c9a5b")
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of submissions passing")
    ax.set_title("Pass rate per test")
    return _png(fig)


def instructor_report(rows: list[Row], *, module: str, title: str, points: float, top: int = 10) -> str:
    finals = [r.final_score for r in rows]
    rates = pass_rates(rows)
    timed = sorted((r for r in rows if r.wall_time is not None), key=lambda r: -(r.wall_time or 0))
    failing = sorted(
        (r for r in rows if r.status != "graded" or r.grader_errors or r.final_score < points / 2),
        key=lambda r: (r.final_score, r.student),
    )
    summary = {
        "submissions": len(rows),
        "mean": statistics.fmean(finals) if finals else 0.0,
        "median": statistics.median(finals) if finals else 0.0,
        "full marks": sum(r.raw_score >= r.max_score > 0 for r in rows),
        "late": sum(r.days_late > 0 for r in rows),
        "not graded": sum(r.status != "graded" for r in rows),
    }
    return _html.get_template("report.html.j2").render(
        module=module,
        title=title,
        points=points,
        summary=summary,
        rates=rates,
        histogram=grade_histogram(rows, points) if rows else None,
        rate_chart=pass_rate_chart(rates) if rates else None,
        slowest=timed[:top],
        failing=failing,
        first_failure=_first_failure,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def _first_failure(row: Row) -> str:
    failed = next((t for t in row.results.get("tests", []) if t.get("status") != "passed"), None)
    return (failed.get("output") or "").splitlines()[0] if failed and failed.get("output") else row.output
