"""The gradebook: every graded submission and test in one SQLite file, late policy applied.

One row per graded submission (raw and final scores both kept) and one per test. Each finished
submission is committed in its own transaction (WAL mode), so killing the grader loses nothing
already finished, and a re-run skips what is already graded with the same content and graders.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from autograder.gradebook.late import Lateness


def quiz_module(module: str) -> str:
    """The gradebook's name for `module`'s quiz: its grades sit beside the assignment's."""
    return f"{module}-quiz"


SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
  id INTEGER PRIMARY KEY,
  student TEXT NOT NULL,
  module TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  grader_version TEXT NOT NULL,
  status TEXT NOT NULL,               -- graded, or error: the grader produced no usable result
  graded_at TEXT NOT NULL,
  submitted_at TEXT,
  due TEXT,
  days_late REAL NOT NULL DEFAULT 0,
  penalty REAL NOT NULL DEFAULT 0,
  raw_score REAL NOT NULL,
  final_score REAL NOT NULL,
  max_score REAL NOT NULL,
  wall_time REAL,
  peak_memory_bytes INTEGER,
  grader_errors INTEGER NOT NULL DEFAULT 0,
  output TEXT NOT NULL DEFAULT '',
  results_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS submissions_key ON submissions (module, student, content_hash, grader_version);
CREATE TABLE IF NOT EXISTS tests (
  submission_id INTEGER NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
  number TEXT NOT NULL,
  test_id TEXT,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  score REAL NOT NULL,
  max_score REAL NOT NULL,
  visibility TEXT NOT NULL,
  output TEXT NOT NULL,
  PRIMARY KEY (submission_id, number)
);
"""


@dataclass(frozen=True)
class Row:
    """One graded submission, as the reports read it."""

    id: int
    student: str
    module: str
    status: str
    raw_score: float
    final_score: float
    max_score: float
    days_late: float
    penalty: float
    wall_time: float | None
    peak_memory_bytes: int | None
    grader_errors: int
    output: str
    results: dict[str, Any]


class Gradebook:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)  # transactions are explicit below
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def find(self, module: str, student: str, content_hash: str, grader_version: str) -> int | None:
        """The id of a finished grading of exactly this content by exactly these graders."""
        row = self.db.execute(
            "SELECT id FROM submissions WHERE module=? AND student=? AND content_hash=? AND grader_version=?"
            " AND status='graded' ORDER BY id DESC LIMIT 1",
            (module, student, content_hash, grader_version),
        ).fetchone()
        return row["id"] if row else None

    def record(
        self,
        module: str,
        student: str,
        content_hash: str,
        grader_version: str,
        results: dict[str, Any],
        lateness: Lateness,
        status: str = "graded",
    ) -> int:
        """Store one submission and its tests in a single transaction."""
        extra = results.get("extra_data", {})
        tests = results.get("tests", [])
        raw = round(sum(t["score"] for t in tests), 4)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            cur = self.db.execute(
                "INSERT INTO submissions (student, module, content_hash, grader_version, status, graded_at,"
                " submitted_at, due, days_late, penalty, raw_score, final_score, max_score, wall_time,"
                " peak_memory_bytes, grader_errors, output, results_json)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    student,
                    module,
                    content_hash,
                    grader_version,
                    status,
                    datetime.now(UTC).isoformat(),
                    *_times(lateness),
                    lateness.days_late,
                    lateness.penalty,
                    raw,
                    lateness.final(raw),
                    round(sum(t["max_score"] for t in tests), 4),
                    extra.get("wall_time"),
                    extra.get("worker_peak_memory_bytes"),
                    int(extra.get("grader_errors", 0)),
                    results.get("output", ""),
                    json.dumps(results),
                ),
            )
            sid = cur.lastrowid
            assert sid is not None  # an INSERT sets it
            self.db.executemany(
                "INSERT INTO tests VALUES (?,?,?,?,?,?,?,?,?)",
                [
                    (
                        sid,
                        t["number"],
                        (t.get("extra_data") or {}).get("id"),
                        t["name"],
                        t["status"],
                        t["score"],
                        t["max_score"],
                        t.get("visibility", "visible"),
                        t.get("output", ""),
                    )
                    for t in tests
                ],
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return sid

    def update_lateness(self, submission_id: int, lateness: Lateness, results: dict[str, Any]) -> None:
        """Re-apply the late policy (a new extension, a corrected time) without grading again."""
        self.db.execute(
            "UPDATE submissions SET submitted_at=?, due=?, days_late=?, penalty=?,"
            " final_score=round(raw_score * (1 - ?), 4), output=?, results_json=? WHERE id=?",
            (
                *_times(lateness),
                lateness.days_late,
                lateness.penalty,
                lateness.penalty,
                results.get("output", ""),
                json.dumps(results),
                submission_id,
            ),
        )

    def latest(self, module: str | None = None) -> list[Row]:
        """Each student's newest grading per module: what the gradebook reports and exports."""
        query = (
            "SELECT * FROM submissions WHERE id IN (SELECT max(id) FROM submissions GROUP BY module, student)"
            + (" AND module=?" if module else "")
            + " ORDER BY module, student"
        )
        return [_row(r) for r in self.db.execute(query, (module,) if module else ())]

    def row(self, submission_id: int) -> Row:
        return _row(self.db.execute("SELECT * FROM submissions WHERE id=?", (submission_id,)).fetchone())

    def is_latest(self, submission_id: int) -> bool:
        """Whether no newer grading of that student's work for that module exists."""
        latest = self.db.execute(
            "SELECT NOT EXISTS (SELECT 1 FROM submissions n, submissions s WHERE s.id=? AND n.module=s.module"
            " AND n.student=s.student AND n.id > s.id)",
            (submission_id,),
        ).fetchone()[0]
        return bool(latest == 1)

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM submissions").fetchone()[0])


def _row(r: sqlite3.Row) -> Row:
    return Row(
        id=r["id"],
        student=r["student"],
        module=r["module"],
        status=r["status"],
        raw_score=r["raw_score"],
        final_score=r["final_score"],
        max_score=r["max_score"],
        days_late=r["days_late"],
        penalty=r["penalty"],
        wall_time=r["wall_time"],
        peak_memory_bytes=r["peak_memory_bytes"],
        grader_errors=r["grader_errors"],
        output=r["output"],
        results=json.loads(r["results_json"]),
    )


def _times(lateness: Lateness) -> tuple[str | None, str | None]:
    return (
        lateness.submitted_at.isoformat() if lateness.submitted_at else None,
        lateness.due.isoformat() if lateness.due else None,
    )
