"""Late policy: when a submission came in, when it was due, and what that costs.

Times without an offset are UTC (give course.yaml due dates an offset, e.g. 2027-02-01T23:59:00-05:00).
Submission times come from Gradescope's submission_metadata.json (single grading) or, in a batch,
from a times file (CSV: student_id,submitted_at) or the submission's newest file mtime. Extensions
come from a CSV with student_id and either extra_days or due (a new due date).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from autograder.config import LatePolicy, late_days


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_time(text: str, where: str) -> datetime:
    try:
        return aware(datetime.fromisoformat(text.strip()))
    except ValueError:
        raise ValueError(f"{where}: {text!r} is not an ISO 8601 date and time") from None


@dataclass(frozen=True)
class Lateness:
    submitted_at: datetime | None
    due: datetime | None
    days_late: float = 0.0
    penalty: float = 0.0  # the fraction of the raw score taken off

    def final(self, raw: float) -> float:
        return round(raw * (1 - self.penalty), 4)

    @property
    def message(self) -> str:
        if self.days_late <= 0:
            return ""
        if self.penalty >= 1:
            return f"Submitted {self.days_late:.2f} days late, past the last day accepted: the score is 0."
        return f"Submitted {self.days_late:.2f} days late: {self.penalty:.0%} is taken off the score."

    def to_json(self) -> dict[str, Any]:
        return {
            "submitted_at": self.submitted_at.isoformat() if self.submitted_at else None,
            "due": self.due.isoformat() if self.due else None,
            "days_late": round(self.days_late, 4),
            "penalty": self.penalty,
        }


def assess(policy: LatePolicy, due: datetime | None, submitted_at: datetime | None) -> Lateness:
    """Penalty per started day late after the grace period; zero past `max_days`."""
    if due is None or submitted_at is None:
        return Lateness(submitted_at, due)
    days = late_days(aware(submitted_at), aware(due), timedelta(seconds=policy.grace))
    if days <= 0:
        return Lateness(submitted_at, due)
    if policy.max_days is not None and days > policy.max_days:
        return Lateness(submitted_at, due, days, 1.0)
    return Lateness(submitted_at, due, days, round(min(1.0, math.ceil(days) * policy.penalty_per_day), 6))


def apply_to_results(results: dict[str, Any], lateness: Lateness) -> dict[str, Any]:
    """Record the lateness in results.json: the tests keep their raw scores, `score` is the final one."""
    raw = round(sum(t["score"] for t in results.get("tests", [])), 4)
    extra = results.setdefault("extra_data", {})
    output = results.get("output", "")
    previous = (extra.get("late") or {}).get("message", "")
    if previous and output.startswith(previous):  # applying a policy again replaces the old note
        output = output[len(previous) :].lstrip("\n")
    results["score"] = lateness.final(raw)
    results["output"] = f"{lateness.message}\n{output}".strip() if lateness.message else output
    extra["late"] = {**lateness.to_json(), "raw_score": raw, "message": lateness.message}
    return results


def from_gradescope(path: Path) -> tuple[datetime | None, datetime | None]:
    """(submitted_at, due) from submission_metadata.json; a user's own due date includes extensions."""
    meta = json.loads(path.read_text(encoding="utf-8"))
    submitted = parse_time(meta["created_at"], path.name) if meta.get("created_at") else None
    dues = [
        u["assignment"]["due_date"]
        for u in meta.get("users") or []
        if isinstance(u.get("assignment"), dict) and u["assignment"].get("due_date")
    ]
    if not dues and (meta.get("assignment") or {}).get("due_date"):
        dues = [meta["assignment"]["due_date"]]
    due = max(
        (parse_time(d, path.name) for d in dues), default=None
    )  # a group gets its most generous due date
    return submitted, due


def _rows(path: Path, required: set[str]) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = required - set(reader.fieldnames or [])
        if missing:
            raise ValueError(
                f"{path}: needs the columns {', '.join(sorted(required))}; "
                f"missing {', '.join(sorted(missing))}"
            )
        return [row for row in reader if (row.get("student_id") or "").strip()]


def load_times(path: Path) -> dict[str, datetime]:
    """CSV student_id,submitted_at."""
    return {
        r["student_id"].strip(): parse_time(r["submitted_at"], f"{path} ({r['student_id']})")
        for r in _rows(path, {"student_id", "submitted_at"})
    }


def load_extensions(path: Path) -> dict[str, timedelta | datetime]:
    """CSV student_id plus extra_days (a number) or due (a new due date) per row."""
    out: dict[str, timedelta | datetime] = {}
    for r in _rows(path, {"student_id"}):
        sid = r["student_id"].strip()
        if (r.get("due") or "").strip():
            out[sid] = parse_time(r["due"], f"{path} ({sid})")
        elif (r.get("extra_days") or "").strip():
            out[sid] = timedelta(days=float(r["extra_days"]))
        else:
            raise ValueError(f"{path}: the row for {sid} gives neither extra_days nor due")
    return out


def effective_due(due: datetime | None, extension: timedelta | datetime | None) -> datetime | None:
    if isinstance(extension, datetime):
        return extension
    if due is None:
        return None
    return aware(due) + extension if extension else aware(due)
