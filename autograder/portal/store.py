"""The portal's tables, in the gradebook's SQLite file: accounts, hashed secrets, the queue, extensions,
quiz attempts.

Secrets (API tokens, one-time sign-in links, sessions) are stored as their sha256 only. The queue
lives here so that a restart of the web server or the grader loses nothing: a job goes
queued -> running -> graded|failed, claimed by one grader in one transaction.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from autograder.gradebook import Gradebook

ROLES = ("student", "ta", "instructor")
SESSION_DAYS = 14

SCHEMA = """
CREATE TABLE IF NOT EXISTS portal_users (
  student_id TEXT PRIMARY KEY,
  name TEXT NOT NULL DEFAULT '',
  email TEXT NOT NULL DEFAULT '',
  section TEXT NOT NULL DEFAULT '',
  role TEXT NOT NULL DEFAULT 'student'
);
CREATE TABLE IF NOT EXISTS portal_secrets (
  digest TEXT PRIMARY KEY,            -- sha256 of the secret; the secret itself is never stored
  student_id TEXT NOT NULL REFERENCES portal_users (student_id),
  kind TEXT NOT NULL,                 -- token (API), link (one-time sign-in), session (cookie)
  created TEXT NOT NULL,
  expires TEXT,
  used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS portal_jobs (
  id INTEGER PRIMARY KEY,
  student TEXT NOT NULL,
  module TEXT NOT NULL,
  upload TEXT NOT NULL,               -- the uploaded file, kept for regrades
  content_hash TEXT NOT NULL,
  submitted_at TEXT NOT NULL,         -- the upload's time: the late policy's clock
  status TEXT NOT NULL,               -- queued, running, graded, failed
  grader_pid INTEGER,
  started_at TEXT,
  finished_at TEXT,
  gradebook_id INTEGER,
  regrade_of INTEGER
);
CREATE INDEX IF NOT EXISTS portal_jobs_status ON portal_jobs (status, id);
CREATE INDEX IF NOT EXISTS portal_jobs_student ON portal_jobs (student, module);
CREATE TABLE IF NOT EXISTS portal_extensions (
  student TEXT NOT NULL,
  module TEXT NOT NULL,
  due TEXT NOT NULL,                  -- the student's own due date for the module
  PRIMARY KEY (student, module)
);
CREATE TABLE IF NOT EXISTS portal_quiz_attempts (
  id INTEGER PRIMARY KEY,
  student TEXT NOT NULL,
  module TEXT NOT NULL,
  submitted_at TEXT NOT NULL,
  score REAL NOT NULL,
  max_score REAL NOT NULL,
  results_json TEXT NOT NULL,         -- the graded attempt (the quiz's results.json), feedback included
  gradebook_id INTEGER                -- set when the bank's `keep` made it the gradebook's score
);
CREATE INDEX IF NOT EXISTS portal_quiz_attempts_student ON portal_quiz_attempts (student, module, id);
CREATE TABLE IF NOT EXISTS portal_quiz_grants (
  student TEXT NOT NULL,
  module TEXT NOT NULL,
  extra INTEGER NOT NULL,             -- attempts granted by staff on top of the bank's `attempts`
  PRIMARY KEY (student, module)
);
"""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class User:
    student_id: str
    name: str
    email: str
    section: str
    role: str

    @property
    def staff(self) -> bool:
        return self.role in ("ta", "instructor")


@dataclass(frozen=True)
class Job:
    id: int
    student: str
    module: str
    upload: str
    content_hash: str
    submitted_at: str
    status: str
    started_at: str | None
    finished_at: str | None
    gradebook_id: int | None
    regrade_of: int | None

    @property
    def filename(self) -> str:
        return Path(self.upload).name


def connect(path: Path) -> sqlite3.Connection:
    """A connection with explicit transactions, WAL and a generous busy timeout (many writers)."""
    db = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA busy_timeout=30000")
    db.execute("PRAGMA foreign_keys=ON")
    return db


def init(path: Path) -> None:
    """Create the gradebook's tables and ours (idempotent)."""
    Gradebook(path).close()
    with closing(path) as db:
        db.executescript(SCHEMA)


@contextmanager
def closing(path: Path) -> Iterator[sqlite3.Connection]:
    db = connect(path)
    try:
        yield db
    finally:
        db.close()


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _job(r: sqlite3.Row) -> Job:
    return Job(**{k: r[k] for k in Job.__dataclass_fields__})


# -- accounts and secrets ---------------------------------------------------------------------------
def upsert_user(
    db: sqlite3.Connection,
    student_id: str,
    *,
    name: str = "",
    email: str = "",
    section: str = "",
    role: str | None = None,
) -> User:
    if role is not None and role not in ROLES:
        raise ValueError(f"role {role!r}: use one of {', '.join(ROLES)}")
    db.execute(
        "INSERT INTO portal_users (student_id, name, email, section, role) VALUES (?,?,?,?,?)"
        " ON CONFLICT (student_id) DO UPDATE SET name=coalesce(nullif(excluded.name, ''), name),"
        " email=coalesce(nullif(excluded.email, ''), email),"
        " section=coalesce(nullif(excluded.section, ''), section)" + (", role=excluded.role" if role else ""),
        (student_id, name, email, section, role or "student"),
    )
    user = get_user(db, student_id)
    assert user is not None
    return user


def get_user(db: sqlite3.Connection, student_id: str) -> User | None:
    r = db.execute("SELECT * FROM portal_users WHERE student_id=?", (student_id,)).fetchone()
    return User(**dict(r)) if r else None


def users(db: sqlite3.Connection) -> list[User]:
    return [User(**dict(r)) for r in db.execute("SELECT * FROM portal_users ORDER BY student_id")]


def new_secret(db: sqlite3.Connection, student_id: str, kind: str, lifetime: timedelta | None = None) -> str:
    """A fresh secret for `student_id`; only its hash is kept."""
    secret = secrets.token_urlsafe(32)
    expires = (now() + lifetime).isoformat() if lifetime else None
    db.execute(
        "INSERT INTO portal_secrets (digest, student_id, kind, created, expires) VALUES (?,?,?,?,?)",
        (digest(secret), student_id, kind, now().isoformat(), expires),
    )
    return secret


def user_for(db: sqlite3.Connection, secret: str, kind: str) -> User | None:
    """The account a token or session belongs to, if it is known and not expired."""
    r = db.execute(
        "SELECT u.* FROM portal_secrets s JOIN portal_users u USING (student_id)"
        " WHERE s.digest=? AND s.kind=? AND (s.expires IS NULL OR s.expires > ?)",
        (digest(secret), kind, now().isoformat()),
    ).fetchone()
    return User(**dict(r)) if r else None


def use_link(db: sqlite3.Connection, secret: str) -> User | None:
    """Spend a one-time sign-in link: its account the first time, None ever after."""
    with transaction(db):
        r = db.execute(
            "SELECT student_id FROM portal_secrets WHERE digest=? AND kind='link' AND used=0",
            (digest(secret),),
        ).fetchone()
        if r is None:
            return None
        db.execute("UPDATE portal_secrets SET used=1 WHERE digest=?", (digest(secret),))
    return get_user(db, r["student_id"])


def drop_secret(db: sqlite3.Connection, secret: str) -> None:
    db.execute("DELETE FROM portal_secrets WHERE digest=?", (digest(secret),))


# -- the queue --------------------------------------------------------------------------------------
def enqueue(
    db: sqlite3.Connection,
    student: str,
    module: str,
    upload: Path,
    content_hash: str,
    submitted_at: datetime,
    regrade_of: int | None = None,
) -> int:
    cur = db.execute(
        "INSERT INTO portal_jobs (student, module, upload, content_hash, submitted_at, status, regrade_of)"
        " VALUES (?,?,?,?,?,'queued',?)",
        (student, module, str(upload), content_hash, submitted_at.isoformat(), regrade_of),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def job(db: sqlite3.Connection, job_id: int) -> Job | None:
    r = db.execute("SELECT * FROM portal_jobs WHERE id=?", (job_id,)).fetchone()
    return _job(r) if r else None


def jobs(
    db: sqlite3.Connection,
    *,
    student: str | None = None,
    status: str | None = None,
    module: str | None = None,
) -> list[Job]:
    where, args = [], []
    for column, value in (("student", student), ("status", status), ("module", module)):
        if value is not None:
            where.append(f"{column}=?")
            args.append(value)
    query = "SELECT * FROM portal_jobs" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
    return [_job(r) for r in db.execute(query, args)]


def queue_position(db: sqlite3.Connection, job: Job) -> int | None:
    """1 for the next job to start; None once it has started."""
    if job.status != "queued":
        return None
    position: int = db.execute(
        "SELECT count(*) FROM portal_jobs WHERE status='queued' AND id<=?", (job.id,)
    ).fetchone()[0]
    return position


def recent_uploads(db: sqlite3.Connection, student: str, window: timedelta) -> int:
    count: int = db.execute(
        "SELECT count(*) FROM portal_jobs WHERE student=? AND regrade_of IS NULL AND submitted_at > ?",
        (student, (now() - window).isoformat()),
    ).fetchone()[0]
    return count


def claim(db: sqlite3.Connection, pid: int) -> Job | None:
    """Take the oldest queued job for grader `pid`, atomically: two graders never take the same one."""
    if db.execute("SELECT 1 FROM portal_jobs WHERE status='queued' LIMIT 1").fetchone() is None:
        return None  # an idle grader's poll takes no write lock
    with transaction(db):
        r = db.execute("SELECT id FROM portal_jobs WHERE status='queued' ORDER BY id LIMIT 1").fetchone()
        if r is None:
            return None
        db.execute(
            "UPDATE portal_jobs SET status='running', grader_pid=?, started_at=?"
            " WHERE id=? AND status='queued'",
            (pid, now().isoformat(), r["id"]),
        )
    return job(db, r["id"])


def finish(db: sqlite3.Connection, job_id: int, status: str, gradebook_id: int | None) -> None:
    db.execute(
        "UPDATE portal_jobs SET status=?, gradebook_id=?, finished_at=? WHERE id=?",
        (status, gradebook_id, now().isoformat(), job_id),
    )


def recorded(db: sqlite3.Connection, job_id: int) -> sqlite3.Row | None:
    """The gradebook row a job's grading was recorded as, if it got that far."""
    row: sqlite3.Row | None = db.execute(
        "SELECT id, status FROM submissions WHERE json_extract(results_json, '$.extra_data.portal_job')=?"
        " ORDER BY id LIMIT 1",
        (job_id,),
    ).fetchone()
    return row


def recover(db: sqlite3.Connection, alive: set[int]) -> int:
    """Jobs left running by a grader that is gone: finished if their grading was recorded (so none is
    graded twice), queued again otherwise (so none is lost). Returns how many were re-queued."""
    requeued = 0
    with transaction(db):
        for r in db.execute("SELECT id, grader_pid FROM portal_jobs WHERE status='running'").fetchall():
            if r["grader_pid"] in alive:
                continue
            if (done := recorded(db, r["id"])) is not None:
                finish(db, r["id"], "graded" if done["status"] == "graded" else "failed", done["id"])
            else:
                db.execute(
                    "UPDATE portal_jobs SET status='queued', grader_pid=NULL, started_at=NULL WHERE id=?",
                    (r["id"],),
                )
                requeued += 1
    return requeued


def results_of(db: sqlite3.Connection, gradebook_id: int) -> dict[str, Any]:
    """The results.json document the gradebook recorded for a grading."""
    row = db.execute("SELECT results_json FROM submissions WHERE id=?", (gradebook_id,)).fetchone()
    results: dict[str, Any] = json.loads(row["results_json"])
    return results


# -- extensions -------------------------------------------------------------------------------------
def set_extension(db: sqlite3.Connection, student: str, module: str, due: datetime) -> None:
    db.execute(
        "INSERT INTO portal_extensions VALUES (?,?,?)"
        " ON CONFLICT (student, module) DO UPDATE SET due=excluded.due",
        (student, module, due.isoformat()),
    )


def extension(db: sqlite3.Connection, student: str, module: str) -> datetime | None:
    r = db.execute(
        "SELECT due FROM portal_extensions WHERE student=? AND module=?", (student, module)
    ).fetchone()
    return datetime.fromisoformat(r["due"]) if r else None


def extensions(db: sqlite3.Connection) -> list[sqlite3.Row]:
    return db.execute("SELECT * FROM portal_extensions ORDER BY module, student").fetchall()


# -- quiz attempts ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Attempt:
    id: int
    student: str
    module: str
    submitted_at: str
    score: float
    max_score: float
    results_json: str
    gradebook_id: int | None

    @property
    def results(self) -> dict[str, Any]:
        results: dict[str, Any] = json.loads(self.results_json)
        return results


def quiz_attempts(db: sqlite3.Connection, student: str, module: str) -> list[Attempt]:
    """`student`'s attempts at `module`'s quiz, oldest first."""
    return [
        Attempt(**dict(r))
        for r in db.execute(
            "SELECT * FROM portal_quiz_attempts WHERE student=? AND module=? ORDER BY id", (student, module)
        )
    ]


def extra_attempts(db: sqlite3.Connection, student: str, module: str) -> int:
    r = db.execute(
        "SELECT extra FROM portal_quiz_grants WHERE student=? AND module=?", (student, module)
    ).fetchone()
    return int(r["extra"]) if r else 0


def add_quiz_attempt(
    db: sqlite3.Connection, student: str, module: str, allowed: int, results: dict[str, Any], max_score: float
) -> int | None:
    """Record an attempt if the student has one left (`allowed` from the bank, plus staff grants): its
    id, or None past the limit. Counting and recording are one transaction, so two attempts posted at
    once cannot both take the last one."""
    with transaction(db):
        used = db.execute(
            "SELECT count(*) FROM portal_quiz_attempts WHERE student=? AND module=?", (student, module)
        ).fetchone()[0]
        if used >= allowed + extra_attempts(db, student, module):
            return None
        cur = db.execute(
            "INSERT INTO portal_quiz_attempts (student, module, submitted_at, score, max_score, results_json)"
            " VALUES (?,?,?,?,?,?)",
            (student, module, now().isoformat(), results["score"], max_score, json.dumps(results)),
        )
    assert cur.lastrowid is not None
    return cur.lastrowid


def kept_in_gradebook(db: sqlite3.Connection, attempt_id: int, gradebook_id: int) -> None:
    db.execute("UPDATE portal_quiz_attempts SET gradebook_id=? WHERE id=?", (gradebook_id, attempt_id))


def grant_attempt(db: sqlite3.Connection, student: str, module: str) -> None:
    """One more attempt at `module`'s quiz for `student`."""
    db.execute(
        "INSERT INTO portal_quiz_grants VALUES (?,?,1)"
        " ON CONFLICT (student, module) DO UPDATE SET extra=extra + 1",
        (student, module),
    )


def quiz_grants(db: sqlite3.Connection) -> list[sqlite3.Row]:
    """Every grant, with how many attempts the student has used."""
    return db.execute(
        "SELECT g.student, g.module, g.extra, (SELECT count(*) FROM portal_quiz_attempts a"
        " WHERE a.student=g.student AND a.module=g.module) AS used"
        " FROM portal_quiz_grants g ORDER BY g.module, g.student"
    ).fetchall()
