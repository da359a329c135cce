"""Faults: the server and the grader killed mid-queue, restarted; every submission graded exactly once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from autograder.gradebook import Gradebook
from autograder.gradebook.late import Lateness
from autograder.portal import store
from tests.conftest import MINI_GOOD
from tests.portal.conftest import HALF

PY = [sys.executable, "-m", "autograder.cli", "portal"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args: list[str], root: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "COURSE_ROOT": str(root)}
    with open(log, "ab") as out:
        return subprocess.Popen(
            [*PY, *args], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def serve(root: Path, db: Path, port: int, log: Path) -> subprocess.Popen:
    proc = start(["serve", "--no-grader", "--port", str(port), "--db", str(db)], root, log)
    deadline = time.monotonic() + 180  # generous: a loaded CI machine starts Python slowly
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"the server did not start: {log.read_text()[-3000:]}")


def kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def statuses(db: Path) -> list[str]:
    with store.closing(db) as conn:
        return [j.status for j in store.jobs(conn)]


def test_killed_server_and_grader_lose_nothing_and_grade_nothing_twice(course_layout, tmp_path: Path) -> None:
    root, db, port, log = course_layout.root, tmp_path / "portal.sqlite", free_port(), tmp_path / "procs.log"
    store.init(db)
    with store.closing(db) as conn:
        for sid in ("s1", "s2", "s3"):
            store.upsert_user(conn, sid)
        tokens = {sid: store.new_secret(conn, sid, "token") for sid in ("s1", "s2", "s3")}
    server = serve(root, db, port, log)
    url = f"http://127.0.0.1:{port}"
    ids = []
    for sid, source in [("s1", MINI_GOOD), ("s2", HALF), ("s3", HALF)]:
        answer = httpx.post(
            f"{url}/api/submissions",
            headers={"Authorization": f"Bearer {tokens[sid]}"},
            data={"module": "mini"},
            files={"file": ("mini.py", source.encode(), "text/x-python")},
            timeout=120,
        )
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
    work = tmp_path / "work"  # one more through `course submit --to`, the student's command line
    work.mkdir()
    (work / "mini.py").write_text(MINI_GOOD)
    cli = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "submit", "mini", str(work), "--to", url],
        env={**os.environ, "COURSE_ROOT": str(root), "COURSE_TOKEN": tokens["s2"]},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert cli.returncode == 0 and "is queued" in cli.stdout, cli.stdout + cli.stderr
    assert len(statuses(db)) == 4

    grader = start(["grader", "--db", str(db), "--jobs", "2"], root, log)
    deadline = time.monotonic() + 300
    while "running" not in statuses(db) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "running" in statuses(db), log.read_text()[-3000:]
    kill(grader)  # mid-grading: its `course grade` child dies with it
    kill(server)
    assert "running" in statuses(db)

    server = serve(root, db, port, log)
    grader = start(["grader", "--db", str(db), "--jobs", "2"], root, log)
    try:
        deadline = time.monotonic() + 600
        while set(statuses(db)) != {"graded"} and time.monotonic() < deadline:
            time.sleep(0.2)
        assert statuses(db) == ["graded"] * 4, log.read_text()[-3000:]
        with store.closing(db) as conn:
            per_job = conn.execute(
                "SELECT json_extract(results_json, '$.extra_data.portal_job'), count(*)"
                " FROM submissions GROUP BY 1"
            ).fetchall()
        assert sorted(tuple(r) for r in per_job) == [(i, 1) for i in range(1, 5)]  # each graded exactly once
        scores = [
            httpx.get(
                f"{url}/api/submissions/{i}", headers={"Authorization": f"Bearer {tokens[s]}"}, timeout=60
            ).json()
            for i, s in zip(ids, ["s1", "s2", "s3"], strict=True)
        ]
        assert [s["results"]["score"] for s in scores] == [4, 2, 2]
    finally:
        kill(grader)
        kill(server)


def test_recover_finishes_recorded_work_and_requeues_the_rest(tmp_path: Path) -> None:
    db = tmp_path / "portal.sqlite"
    store.init(db)
    dead = 2**22 + 12345  # above pid_max's default: no such process
    with store.closing(db) as conn:
        store.upsert_user(conn, "s1")
        first = store.enqueue(conn, "s1", "mini", tmp_path / "a.py", "h1", store.now())
        second = store.enqueue(conn, "s1", "mini", tmp_path / "b.py", "h2", store.now())
        assert store.claim(conn, dead).id == first and store.claim(conn, dead).id == second
        results = {"score": 1, "tests": [], "extra_data": {"portal_job": first}}
        with Gradebook(db) as book:  # the dead grader recorded the first one, then died
            gid = book.record("mini", "s1", "h1", "v", results, Lateness(None, None))
        assert store.recover(conn, alive={os.getpid()}) == 1
        jobs = store.jobs(conn)
    assert [(j.status, j.gradebook_id) for j in jobs] == [("graded", gid), ("queued", None)]


def test_grading_path_never_imports_fastapi() -> None:
    """The grader and the `course` command (course grade) load no web framework."""
    code = (
        "import sys, autograder.cli, autograder.portal.grader, autograder.portal.cli;"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('fastapi', 'starlette', 'uvicorn')]"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
