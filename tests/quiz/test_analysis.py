"""Item analysis against hand-computed values."""

import statistics

import pytest

from autograder.quiz.analysis import analyse, point_biserial, report_html
from autograder.quiz.grading import grade_variant, key_response


def test_point_biserial_matches_the_textbook_formula():
    right = [True, True, False, True, False, False]
    scores = [90.0, 80.0, 60.0, 70.0, 40.0, 65.0]
    m1 = statistics.fmean(s for s, r in zip(scores, right, strict=True) if r)
    m0 = statistics.fmean(s for s, r in zip(scores, right, strict=True) if not r)
    p = sum(right) / len(right)
    expected = (m1 - m0) / statistics.pstdev(scores) * (p * (1 - p)) ** 0.5
    assert point_biserial(right, scores) == pytest.approx(expected)
    assert point_biserial([True, True, True], [1.0, 2.0, 3.0]) is None


def cohort(quiz, n=30):
    """Student i answers correctly the first i*k/n questions of their variant: a clean ability gradient,
    except question `tf`, which the strongest students get wrong (a miskeyed question)."""
    grades = []
    for s in range(n):
        variant = quiz.variant(f"s{s}")
        answers = {i.qid: key_response(i) for i in variant.items[: round(s * len(variant.items) / n)]}
        answers["tf"] = "true" if s >= n // 2 else "false"
        grades.append(grade_variant(variant, answers))
    return grades


def test_difficulty_discrimination_and_distribution(quiz):
    grades = cohort(quiz)
    result = analyse(quiz.bank, grades)
    stats = {s.qid: s for s in result.items}
    assert stats["single"].difficulty == pytest.approx(
        sum(next(r for r in g.items if r.qid == "single").correct for g in grades) / 30
    )
    assert stats["ratio"].discrimination > 0.5 and not stats["ratio"].flagged()
    assert stats["tf"].discrimination < 0 and stats["tf"].flagged()
    assert sum(s.n for qid, s in stats.items() if qid.startswith("pool-")) == 30
    assert sum(result.histogram()) == 30 and len(result.percents) == 30
    answers = [r for g in grades for r in g.items if r.qid in ("linear-params", "ratio")]  # tag model-size
    assert result.by_tag()["model-size"] == pytest.approx(
        sum(r.score / r.points for r in answers) / len(answers)
    )


def test_html_report_embeds_a_png_plot(quiz):
    html = report_html(analyse(quiz.bank, cohort(quiz)), "Demo")
    assert '<img alt="score distribution' in html and "data:image/png;base64,iVBORw0KGgo" in html
    assert 'class="flag"' in html and "<td>tf</td>" in html and "<td>model-size</td>" in html
