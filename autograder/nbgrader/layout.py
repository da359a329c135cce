"""nbgrader's collected layout, read with pathlib alone: batch grading calls this, so it must never
import nbgrader.

`nbgrader collect` (and `zip_collect`) leave each student's work in
`submitted/<student>/<assignment>/`: the notebooks and a `timestamp.txt` holding the submission
time. `course export nbgrader` names each assignment by its module id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def collected(folder: Path, assignment: str) -> dict[str, Path] | None:
    """student -> `folder/<student>/<assignment>` when `folder` is nbgrader's submitted folder for
    this assignment (some student folder holds it, with a notebook in it); None otherwise. Students
    who did not submit this assignment are left out."""
    if not folder.is_dir():
        return None
    found = {
        entry.name: entry / assignment
        for entry in sorted(folder.iterdir())
        if not entry.name.startswith((".", "__"))
        and not entry.is_symlink()
        and entry.is_dir()
        and (entry / assignment).is_dir()
    }
    if not any(any(p.glob("*.ipynb")) for p in found.values()):
        return None
    return found


def timestamp(work: Path) -> datetime | None:
    """When nbgrader says the work was submitted (its timestamp.txt), None when it does not say.

    nbgrader writes `2027-02-01 23:59:00.123456 UTC` (its Exchange.timestamp_format, in its
    Exchange.timezone). A UTC time or one with a numeric offset is read; a zone abbreviation (EST)
    names no single offset, so such a time is not trusted: give the batch a --times file."""
    path = work / "timestamp.txt"
    if not path.is_file() or path.is_symlink():
        return None
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    for suffix in (" UTC", " GMT", "Z"):
        text = text.removesuffix(suffix)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def collected_times(submissions: list[Any]) -> dict[str, datetime]:
    """student -> nbgrader's submission time, for the batch's submissions that have one."""
    times = {sub.student: timestamp(sub.path) for sub in submissions if sub.path.is_dir()}
    return {student: when for student, when in times.items() if when is not None}
