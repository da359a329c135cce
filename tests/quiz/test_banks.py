"""The course's own quiz banks: every file under quizzes/ validates, whether or not its module is
in course.yaml yet, and every module in course.yaml has a bank. Code answers come from the cache
(`course validate` re-runs them)."""

from pathlib import Path

import pytest

from autograder.quiz.checks import MIN_QUESTIONS, quiz_checks

BANKS = sorted((Path(__file__).resolve().parents[2] / "quizzes").glob("*.yaml"))


@pytest.mark.parametrize("bank", BANKS, ids=[b.stem for b in BANKS])
def test_bank_validates(course, bank):
    rows = quiz_checks(course, bank.stem, bank, reproduce=False)
    assert [name for name, *_ in rows] == [
        "quiz bank loads",
        "quiz keys grade correct",
        "quiz variants render",
        "quiz LMS exports parse",
    ]
    failed = [f"{name}: {detail}" for name, ok, detail, _ in rows if not ok]
    assert not failed, "\n".join(failed)


def test_every_module_in_the_course_has_a_bank(course):
    missing = [m.id for m in course.course.modules if not course.quiz_file(m.id).is_file()]
    assert not missing, f"no quizzes/<module>.yaml for {', '.join(missing)}"


def test_banks_mix_question_types(course):
    from autograder.quiz.bank import load_bank

    for bank in BANKS:
        questions = load_bank(bank).questions
        types = {q.type for q in questions}
        assert len(questions) >= MIN_QUESTIONS and len(types) >= 5, (
            f"{bank.name}: {len(questions)} questions, {types}"
        )
