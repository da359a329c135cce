"""Item analysis: which questions are too easy, too hard, or do not measure what the quiz measures.

Difficulty is the share of students who got a question fully right. Discrimination is the
point-biserial correlation between getting it right and the percent score on the *rest* of the
quiz (the question itself excluded, so it does not correlate with itself). With pools, each
question is analysed over the students who were asked it.
"""

from __future__ import annotations

import base64
import io
import statistics
from dataclasses import dataclass

from autograder.quiz.bank import Bank
from autograder.quiz.grading import QuizGrade

LOW_DISCRIMINATION = 0.2  # a common rule of thumb: below this, revise the question


@dataclass
class ItemStats:
    qid: str
    tags: list[str]
    n: int  # students who were asked it
    difficulty: float  # share fully right
    mean_credit: float  # mean share of the points, partial credit included
    discrimination: float | None  # None when everyone (or no one) got it right, or n < 3

    def flagged(self, low: float = LOW_DISCRIMINATION) -> bool:
        return self.discrimination is not None and self.discrimination < low


@dataclass
class Analysis:
    n_students: int
    percents: list[float]
    items: list[ItemStats]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.percents) if self.percents else 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.percents) if self.percents else 0.0

    @property
    def stdev(self) -> float:
        return statistics.pstdev(self.percents) if self.percents else 0.0

    def by_tag(self) -> dict[str, float]:
        """Mean credit per learning objective (tag), over every answer to a question with that tag."""
        totals: dict[str, tuple[float, int]] = {}
        for s in self.items:
            for tag in s.tags:
                credit, n = totals.get(tag, (0.0, 0))
                totals[tag] = (credit + s.mean_credit * s.n, n + s.n)
        return {tag: credit / n for tag, (credit, n) in sorted(totals.items())}

    def histogram(self, bins: int = 10) -> list[int]:
        """Counts of percent scores in [0, 10), [10, 20), ..., [90, 100]."""
        counts = [0] * bins
        for p in self.percents:
            counts[min(bins - 1, int(p * bins / 100))] += 1
        return counts


def point_biserial(right: list[bool], scores: list[float]) -> float | None:
    """Pearson correlation of a 0/1 variable with a score; None if either does not vary."""
    if len(right) < 3 or len(set(right)) < 2 or len(set(scores)) < 2:
        return None
    return statistics.correlation([float(r) for r in right], scores)


def analyse(bank: Bank, grades: list[QuizGrade]) -> Analysis:
    percents = [100 * g.score / g.max_score if g.max_score else 0.0 for g in grades]
    items = []
    for q in bank.questions:
        right, credit, rest = [], [], []
        for g in grades:
            result = next((r for r in g.items if r.qid == q.id), None)
            if result is None:
                continue
            right.append(result.correct)
            credit.append(result.score / result.points)
            others = g.max_score - result.points
            rest.append(100 * (g.score - result.score) / others if others else 0.0)
        if right:
            items.append(
                ItemStats(
                    q.id,
                    list(q.tags),
                    len(right),
                    sum(right) / len(right),
                    statistics.fmean(credit),
                    point_biserial(right, rest),
                )
            )
    return Analysis(len(grades), percents, items)


def plot_png(analysis: Analysis) -> bytes:
    """Score histogram and per-question difficulty, side by side, as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    left.hist(analysis.percents, bins=range(0, 101, 10), color="#4a8", edgecolor="white")
    left.set(title=f"Scores ({analysis.n_students} students)", xlabel="percent", ylabel="students")
    ids = [s.qid for s in analysis.items]
    right.barh(
        ids,
        [s.difficulty for s in analysis.items],
        color=["#c44" if s.flagged() else "#48a" for s in analysis.items],
    )
    right.set(title="Difficulty (share right); red: low discrimination", xlim=(0, 1))
    right.invert_yaxis()
    right.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def report_html(analysis: Analysis, title: str) -> str:
    from autograder.quiz.render import TEMPLATES

    png = base64.b64encode(plot_png(analysis)).decode()
    return TEMPLATES.get_template("report.html.j2").render(
        a=analysis, title=title, png=png, low=LOW_DISCRIMINATION
    )
