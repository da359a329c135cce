"""A class's submissions graded in containers, N at a time, into the gradebook `course grade` fills.

Discovery, content hashes, lateness and the gradebook's records are batch grading's own
(autograder.batch, autograder.gradebook): a submission already graded with the same content and
graders is skipped, and each finished grading is committed at once.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from autograder.grade.results import write_json_atomic
from autograder.gradebook import Gradebook
from autograder.gradebook.late import Lateness, apply_to_results, assess, effective_due
from autograder.layout import Layout


@dataclass
class Graded:
    student: str
    status: str  # graded | error | skipped
    raw: float
    final: float
    max_score: float


def grade_batch(
    layout: Layout,
    module_id: str,
    folder: Path,
    out: Path,
    book: Gradebook,
    grade_one: Callable[[Path, Path], dict[str, Any]],
    *,
    jobs: int = 1,
    times: dict[str, datetime] | None = None,
) -> list[Graded]:
    """`grade_one(submission, dest)` grades one submission into dest/results.json and returns it."""
    from autograder.batch import content_hash, discover, submitted_at
    from autograder.grade.runner import grader_version

    module = layout.course.module(module_id)
    policy = layout.course.late_for(module_id)
    version = grader_version(layout, module_id, "hidden")
    done: list[Graded] = []
    todo: list[tuple[Any, str, Lateness]] = []
    for sub in discover(folder, skip=out):
        digest = content_hash(sub, module.files)
        lateness = assess(policy, effective_due(module.due, None), submitted_at(sub, times or {}))
        if (row_id := book.find(module_id, sub.student, digest, version)) is not None:
            row = book.row(row_id)
            done.append(Graded(sub.student, "skipped", row.raw_score, row.final_score, row.max_score))
        else:
            todo.append((sub, digest, lateness))

    def record(sub: Any, digest: str, lateness: Lateness, results: dict[str, Any]) -> None:
        extra = results.setdefault("extra_data", {})
        extra.update(content_hash=digest, student=sub.student)
        extra.setdefault("grader_version", version)
        failed = bool(extra.get("grader_failed"))
        apply_to_results(results, lateness)
        write_json_atomic(out / sub.student / "results.json", results)
        status = "error" if failed else "graded"
        book.record(module_id, sub.student, digest, version, results, lateness, status)
        raw = extra["late"]["raw_score"]
        total = sum(t["max_score"] for t in results["tests"])
        done.append(Graded(sub.student, status, raw, results["score"], total))

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        running: dict[Future[dict[str, Any]], tuple[Any, str, Lateness]] = {
            pool.submit(grade_one, sub.path, out / sub.student): (sub, digest, lateness)
            for sub, digest, lateness in todo
        }
        while running:  # the gradebook is written from this thread only (sqlite's rule)
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                record(*running.pop(future), future.result())
    return done
