"""Batch grading: a folder of submissions, one per student, graded in parallel into a gradebook.

Each entry directly inside the folder is one student's submission: a subfolder or a .zip, named by
the student's id. This package's top holds what a batch folder is (light: `course grade` asks it
whether a zero came from a folder of a whole class); `grader` grades one, `cluster` on Dask.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from autograder.grade.intake import take_in


class BatchError(Exception):
    """The batch cannot start: the message says what to fix."""


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path
    classmates: Path | None = None  # everyone's work, hidden from the worker (default: path's parent)


def discover(folder: Path, skip: Path | None = None, module: str | None = None) -> list[Submission]:
    """Every subfolder or .zip directly inside `folder`, named by student id; other files are ignored,
    and so is `skip` (the output folder, when a TA puts it inside the submissions folder). nbgrader's
    collected folder (`submitted/<student>/<module>/`) gives each student's folder for `module`."""
    if not folder.is_dir():
        raise BatchError(f"{folder} is not a folder of submissions")
    if module is not None:
        from autograder.nbgrader.layout import collected

        if (works := collected(folder, module)) is not None:
            return [Submission(student, work, folder) for student, work in works.items()]
    found: dict[str, Submission] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith((".", "__")) or (skip is not None and entry.resolve() == skip.resolve()):
            continue
        if (
            entry.is_dir() or entry.is_symlink()
        ):  # a symlink is graded, so its student is told why it is refused
            student = entry.name
        elif entry.suffix == ".zip":
            student = entry.stem
        else:
            continue
        if student in found:
            raise BatchError(
                f"two submissions for student {student}: {found[student].path.name} and {entry.name}"
            )
        found[student] = Submission(student, entry)
    return list(found.values())


def looks_like_batch(folder: Path, files: list[str]) -> bool:
    """No student file at the top, but several subfolders or zips: probably a class, not one student."""
    if not folder.is_dir():
        return False
    stems = {Path(f).stem for f in files}
    if any((folder / f"{s}{ext}").exists() for s in stems for ext in (".py", ".ipynb")):
        return False
    try:
        return len(discover(folder)) >= 2
    except BatchError:  # two entries for one student: certainly not a single submission
        return True


def submitted_at(sub: Submission, times: dict[str, datetime]) -> datetime:
    """From the times file, else the newest modification time among the submission's files."""
    if sub.student in times:
        return times[sub.student]
    path = sub.path
    stamps = [p.lstat().st_mtime for p in path.rglob("*") if p.is_file()] if path.is_dir() else []
    return datetime.fromtimestamp(max(stamps, default=path.lstat().st_mtime), UTC)


def content_hash(sub: Submission, files: list[str]) -> str:
    """The same hash `course grade` records as extra_data.content_hash."""
    with tempfile.TemporaryDirectory(prefix="course-hash-") as tmp:
        return take_in(sub.path.absolute(), Path(tmp), files).content_hash
