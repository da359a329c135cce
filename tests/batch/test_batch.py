"""Batch grading end to end: a class graded in parallel, resumed, killed and resumed again."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import sqlite3
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autograder.batch import BatchError, discover, looks_like_batch, submitted_at
from tests.batch.conftest import CLASS, GOOD, REPO, course_cmd, leftovers, run_course, write_class


def scores(out: Path) -> dict[str, float]:
    return {
        p.parent.name: json.loads(p.read_text())["extra_data"]["late"]["raw_score"]
        for p in out.glob("*/results.json")
    }


def graded_count(db_path: Path) -> int:
    if not db_path.exists():
        return 0
    db = sqlite3.connect(db_path)
    try:
        return db.execute("SELECT count(*) FROM submissions").fetchone()[0]
    except sqlite3.OperationalError:  # the batch is still creating the schema
        return 0
    finally:
        db.close()


def test_class_graded_in_parallel_with_late_policy(klass, tmp_path):
    subs = write_class(tmp_path / "subs", CLASS)
    (tmp_path / "times.csv").write_text(
        "student_id,submitted_at\n"
        "ada,2027-02-03T12:00:00+00:00\n"  # 1.5 days after grace: 2 days, 20%
        "ben,2027-02-03T12:00:00+00:00\n"  # same, but an extension covers it
        "cy,2027-02-10T00:00:00+00:00\n"
    )  # past max_days: 0
    (tmp_path / "ext.csv").write_text("student_id,extra_days,due\nben,3,\n")
    out = tmp_path / "out"
    done = run_course(
        klass,
        "grade",
        "mini",
        str(subs),
        "--out",
        str(out),
        "--jobs",
        "2",
        "--times",
        str(tmp_path / "times.csv"),
        "--extensions",
        str(tmp_path / "ext.csv"),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = {sid: json.loads((out / sid / "results.json").read_text()) for sid in CLASS}
    wrong = {
        sid: [t["output"][:200] for t in results[sid]["tests"]]
        for sid, got in scores(out).items()
        if got != CLASS[sid][1]
    }
    assert not wrong, f"unexpected scores; what those students read: {wrong}"
    assert (
        results["ada"]["score"] == pytest.approx(3.2)
        and results["ada"]["extra_data"]["late"]["penalty"] == 0.2
    )
    assert results["ben"]["score"] == 4.0 and results["cy"]["score"] == 0.0
    assert "days late" in results["ada"]["output"]
    assert "did not finish within 10 s" in results["fox"]["tests"][0]["output"]
    assert "line 1" in results["hal"]["tests"][0]["output"]  # the syntax error reaches the student
    # Over a cgroup limit the kernel may swap before it kills: on a loaded machine the call limit can
    # come first.
    assert re.search(r"more than 1 GiB of memory|did not finish within", results["ivy"]["tests"][0]["output"])
    for sid in CLASS:
        assert (out / sid / "feedback.html").is_file() and (out / sid / "feedback.md").is_file()
    assert (out / "report.html").is_file()
    assert leftovers(str(tmp_path)) == [], "a grading (or gus's daemon) outlived the batch"

    db = sqlite3.connect(out / "gradebook.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    rows = {
        r[0]: r[1:]
        for r in db.execute(
            "SELECT student, raw_score, final_score, status, content_hash,"
            " grader_version, peak_memory_bytes FROM submissions"
        )
    }
    assert rows["ada"][:3] == (4.0, 3.2, "graded")
    assert all(r[3] and r[4] for r in rows.values()), "every row has a content hash and grader version"
    assert rows["ada"][3] == rows["ben"][3] == rows["cy"][3], "identical work has one content hash"
    assert rows["ada"][5] > 0
    per_test = db.execute("SELECT count(*) FROM tests").fetchone()[0]
    assert per_test == 3 * len(CLASS), "every test of every submission is in the gradebook"
    db.close()

    exported = run_course(
        klass,
        "gradebook",
        "export",
        "--db",
        str(out / "gradebook.sqlite"),
        "--out",
        str(tmp_path / "grades.csv"),
    )
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.reader((tmp_path / "grades.csv").read_text().splitlines()))
    assert rows[0] == ["Student", "ID", "SIS User ID", "Section", "Mini module (mini)"]
    assert {r[2]: r[4] for r in rows[2:]} == {
        "ada": "3.2",
        "ben": "4",
        "cy": "0",
        "dee": "2",
        "eve": "0",
        "fox": "2",
        "gus": "4",
        "hal": "0",
        "ivy": "2",
    }

    # A re-run grades nothing, and a changed submission alone is graded again.
    (subs / "dee" / "mini.py").write_text(GOOD)
    again = run_course(
        klass,
        "grade",
        "mini",
        str(subs),
        "--out",
        str(out),
        "--jobs",
        "2",
        "--times",
        str(tmp_path / "times.csv"),
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("skipped") == len(CLASS) - 1
    assert scores(out)["dee"] == 4.0
    # Without the extensions file ben is late again: the stored grading is re-priced, not re-run.
    assert json.loads((out / "ben" / "results.json").read_text())["score"] == pytest.approx(3.2)


def test_single_mode_is_unchanged_and_reads_gradescope_metadata(klass, tmp_path):
    sub = tmp_path / "one"
    sub.mkdir()
    (sub / "mini.py").write_text(GOOD)
    meta = tmp_path / "submission_metadata.json"
    meta.write_text(
        json.dumps(
            {
                "created_at": "2027-02-04T10:00:00.000000-05:00",
                "assignment": {"due_date": "2027-02-01T23:59:00.000000-05:00"},
                "users": [{"name": "A", "assignment": {"due_date": "2027-02-03T23:59:00.000000-05:00"}}],
            }
        )
    )
    done = run_course(
        klass, "grade", "mini", str(sub), "--out", str(tmp_path / "out"), "--metadata", str(meta)
    )
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    late = results["extra_data"]["late"]
    assert late["raw_score"] == 4.0 and late["due"].startswith("2027-02-03T23:59")  # the user's extension
    assert late["penalty"] == pytest.approx(0.1) and results["score"] == pytest.approx(3.6)
    assert sum(t["score"] for t in results["tests"]) == 4.0, "tests keep their raw scores"

    meta.write_text("{not json")
    done = run_course(
        klass, "grade", "mini", str(sub), "--out", str(tmp_path / "out2"), "--metadata", str(meta)
    )
    assert done.returncode == 0 and "no late policy applied" in " ".join(done.stderr.split())
    assert json.loads((tmp_path / "out2" / "results.json").read_text())["score"] == 4.0


def test_killed_batch_loses_nothing_and_resumes(klass, tmp_path):
    students = {f"s{i}": (GOOD, 4.0) for i in range(6)}
    subs = write_class(tmp_path / "subs", students)
    out = tmp_path / "out"
    env = {**os.environ, "COURSE_ROOT": str(klass.root)}
    batch = subprocess.Popen(
        course_cmd(klass, "grade", "mini", str(subs), "--out", str(out), "--jobs", "1"),
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    db_path = out / "gradebook.sqlite"
    finished = 0
    deadline = time.monotonic() + 180
    while finished < 2 and time.monotonic() < deadline and batch.poll() is None:
        time.sleep(0.2)
        finished = graded_count(db_path)
    assert batch.poll() is None, "the batch ended before it could be killed; the test proves nothing"
    batch.send_signal(signal.SIGKILL)
    batch.wait()
    with sqlite3.connect(db_path) as db:
        kept = dict(db.execute("SELECT student, final_score FROM submissions"))
    assert len(kept) >= 2 and set(kept.values()) == {4.0}
    assert leftovers(str(tmp_path)) == [], "gradings must die with their batch (PR_SET_PDEATHSIG)"

    resumed = run_course(klass, "grade", "mini", str(subs), "--out", str(out), "--jobs", "2")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    with sqlite3.connect(db_path) as db:
        rows = db.execute(
            "SELECT student, count(*), max(final_score) FROM submissions GROUP BY student"
        ).fetchall()
    assert {r[0] for r in rows} == set(students)
    assert all(count == 1 and score == 4.0 for _, count, score in rows), "finished work was graded twice"
    assert resumed.stdout.count("skipped") == len(kept)


def test_discovery(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b.zip").write_bytes(b"")
    (tmp_path / "times.csv").write_text("")
    (tmp_path / ".DS_Store").write_text("")
    assert [(s.student, s.path.name) for s in discover(tmp_path)] == [("a", "a"), ("b", "b.zip")]
    (tmp_path / "out").mkdir()
    assert [s.student for s in discover(tmp_path, skip=tmp_path / "out")] == ["a", "b"], (
        "output is no student"
    )
    (tmp_path / "out").rmdir()
    assert looks_like_batch(tmp_path, ["mini.py"])
    (tmp_path / "mini.py").write_text("")
    assert not looks_like_batch(tmp_path, ["mini.py"]), "a student file at the top means one submission"
    (tmp_path / "a.zip").write_bytes(b"")
    with pytest.raises(BatchError, match="two submissions for student a"):
        discover(tmp_path)


def test_submission_time_from_times_file_else_newest_mtime(tmp_path):
    (tmp_path / "a").mkdir()
    for name, stamp in (("old.py", 1_800_000_000), ("new.py", 1_800_000_600)):
        (tmp_path / "a" / name).write_text("")
        os.utime(tmp_path / "a" / name, (stamp, stamp))
    (tmp_path / "b.zip").write_bytes(b"")
    os.utime(tmp_path / "b.zip", (1_700_000_000, 1_700_000_000))
    a, b = discover(tmp_path)
    assert submitted_at(a, {}) == datetime.fromtimestamp(1_800_000_600, UTC)
    assert submitted_at(b, {}) == datetime.fromtimestamp(1_700_000_000, UTC)
    given = datetime(2027, 1, 1, tzinfo=UTC)
    assert submitted_at(a, {"a": given}) == given
