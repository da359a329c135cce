"""`course gradebook export`: final scores as a CSV an LMS imports (Canvas's gradebook columns).

Columns: Student, ID, SIS User ID, Section, then "<module title> (<module id>)" per module, each
followed by "<module title> quiz (<module id>-quiz)" when quiz grades were recorded for it (`course
quiz grade --gradebook`), one row per student, after a "Points Possible" row. A roster CSV
(student_id, and optionally name, canvas_id, sis_id, section) fills in names and ids; without one
the student id (the name of the submission's folder or zip) is the SIS User ID.
"""

from __future__ import annotations

import csv
from pathlib import Path

from autograder.config import Course
from autograder.gradebook import Gradebook, quiz_module

FIXED = ["Student", "ID", "SIS User ID", "Section"]


def load_roster(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if "student_id" not in (reader.fieldnames or []):
            raise ValueError(f"{path}: the roster needs a student_id column")
        return {
            r["student_id"].strip(): {k: (v or "").strip() for k, v in r.items()}
            for r in reader
            if (r.get("student_id") or "").strip()
        }


def export_csv(
    gradebook: Gradebook, course: Course, out: Path, roster: dict[str, dict[str, str]] | None = None
) -> int:
    """Write the CSV; return the number of student rows."""
    roster = roster or {}
    scores: dict[str, dict[str, float]] = {}
    max_scores: dict[str, float] = {}  # per gradebook module: a quiz's points possible come from its grades
    for row in gradebook.latest():
        scores.setdefault(row.student, {})[row.module] = row.final_score
        max_scores[row.module] = max(max_scores.get(row.module, 0.0), row.max_score)
    columns: list[tuple[str, str, float]] = []  # (gradebook module, header, points possible)
    for module in course.modules:
        columns.append((module.id, f"{module.title} ({module.id})", module.points))
        quiz = quiz_module(module.id)
        if quiz in max_scores:
            columns.append((quiz, f"{module.title} quiz ({quiz})", max_scores[quiz]))
    students = sorted(set(scores) | set(roster))
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(FIXED + [header for _, header, _ in columns])
        writer.writerow(["Points Possible", "", "", ""] + [f"{points:g}" for _, _, points in columns])
        for sid in students:
            info = roster.get(sid, {})
            got = scores.get(sid, {})
            writer.writerow(
                [
                    info.get("name") or sid,
                    info.get("canvas_id", ""),
                    info.get("sis_id") or sid,
                    info.get("section", ""),
                ]
                + [f"{got[key]:g}" if key in got else "" for key, _, _ in columns]
            )
    return len(students)
