"""`course gradebook export --format nbgrader`: the course's scores written into nbgrader's gradebook,
through nbgrader's own API, so `nbgrader export` and formgrader show them.

Each module exported by `course export nbgrader` has, in its notebook, the task cell `hidden-tests`
worth the module's points (nbgrader treats it as manually graded). The newest grading of each
student becomes that cell's score (the part above the points, extra credit, its `extra_credit`),
and the late penalty the notebook's `late_submission_penalty`; nbgrader's submission timestamp is
the one the grading used. The public checks' test cells stay nbgrader's to score (`nbgrader
autograde`), as in any nbgrader course.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.config import Course
from autograder.gradebook import Gradebook
from autograder.nbgrader.export import HIDDEN_CELL


@dataclass
class Written:
    scores: dict[tuple[str, str], float] = field(default_factory=dict)  # (module, student) -> final
    skipped: list[str] = field(default_factory=list)  # what was not written, and why


def nbgrader_db(path: Path) -> Path:
    """nbgrader's gradebook: PATH itself, or PATH/gradebook.db for its course folder."""
    return path / "gradebook.db" if path.is_dir() else path


def write_scores(book: Gradebook, course: Course, path: Path) -> Written:
    """Write every module's newest gradings into nbgrader's gradebook at `path` (see the module's doc)."""
    from nbgrader.api import Gradebook as NbGradebook
    from nbgrader.api import MissingEntry

    db = nbgrader_db(path)
    if not db.is_file():
        raise ValueError(
            f"no nbgrader gradebook at {db}: "
            "run `nbgrader generate_assignment MODULE` in the course folder first"
        )
    written = Written()
    modules = {m.id for m in course.modules}
    with NbGradebook(f"sqlite:///{db}", course_id=course.course.id) as gb:
        cells: dict[str, str | None] = {}  # module -> the notebook holding its hidden-tests cell
        for row in book.latest():
            if row.module not in modules:
                continue  # a quiz: it has no nbgrader assignment
            if row.module not in cells:
                cells[row.module] = _hidden_cell_notebook(gb, row.module, MissingEntry)
                if cells[row.module] is None:
                    written.skipped.append(
                        f"{row.module}: nbgrader has no assignment of that name with a `{HIDDEN_CELL}` "
                        "cell (export it with `course export nbgrader`, then `nbgrader generate_assignment`)"
                    )
            notebook = cells[row.module]
            if notebook is None:
                continue
            if row.status != "graded":
                written.skipped.append(
                    f"{row.module}/{row.student}: its grading failed (status {row.status}): grade it again"
                )
                continue
            late = row.results.get("extra_data", {}).get("late", {})
            gb.update_or_create_student(row.student)
            stamp = {"timestamp": late["submitted_at"]} if late.get("submitted_at") else {}
            gb.update_or_create_submission(row.module, row.student, **stamp)
            grade = gb.find_grade(HIDDEN_CELL, notebook, row.module, row.student)
            points = grade.max_score
            grade.manual_score = min(row.raw_score, points)
            grade.extra_credit = max(row.raw_score - points, 0.0) or None
            grade.needs_manual_grade = False
            submitted = gb.find_submission_notebook(notebook, row.module, row.student)
            submitted.late_submission_penalty = max(row.raw_score - row.final_score, 0.0) or None
            gb.db.commit()
            written.scores[(row.module, row.student)] = row.final_score
    return written


def _hidden_cell_notebook(gb: Any, assignment: str, missing: type[Exception]) -> str | None:
    try:
        notebooks = gb.find_assignment(assignment).notebooks
    except missing:
        return None
    return next((nb.name for nb in notebooks if HIDDEN_CELL in {c.name for c in nb.task_cells}), None)
