"""Quiz grades in the course gradebook, next to the assignments.

A quiz grade is stored as a submission of module `<module>-quiz`, with one test row per question
(its score and feedback), in the same results.json shape that assignment gradings use. The
content hash is that of the student's answers and the grader version that of the bank and its code
answers: re-recording an unchanged grading is skipped, and a corrected bank records a new one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from autograder.gradebook import Gradebook, quiz_module
from autograder.gradebook.late import Lateness
from autograder.quiz.grading import QuizGrade
from autograder.quiz.variant import Quiz


def to_results(grade: QuizGrade) -> dict[str, Any]:
    """The grade as results.json: one test per question, its feedback as the output."""
    tests = [
        {
            "number": str(r.number),
            "name": r.qid,
            "score": r.score,
            "max_score": r.points,
            "status": "passed" if r.correct else "failed",
            "visibility": "visible",
            "output": "\n".join(r.feedback),
            "extra_data": {"id": r.qid, "response": r.response},
        }
        for r in grade.items
    ]
    return {
        "score": grade.score,
        "tests": tests,
        "output": "",
        "extra_data": {"kind": "quiz", "seed": grade.seed, "ignored": grade.ignored},
    }


def _digest(data: object) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def record(quiz: Quiz, grades: list[QuizGrade], path: Path) -> tuple[int, int]:
    """Record each grade; return (recorded, skipped as already recorded)."""
    version = _digest([quiz.course_id, quiz.bank.model_dump(mode="json"), quiz.outputs])
    recorded = skipped = 0
    with Gradebook(path) as book:
        for g in grades:
            content = _digest([(r.qid, r.response) for r in g.items])
            if book.find(quiz_module(quiz.module), g.student, content, version) is not None:
                skipped += 1
                continue
            book.record(
                quiz_module(quiz.module), g.student, content, version, to_results(g), Lateness(None, None)
            )
            recorded += 1
    return recorded, skipped
