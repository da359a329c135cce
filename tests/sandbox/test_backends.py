"""Choosing a backend, and giving a uid exactly the paths it needs."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import autograder.sandbox as sandbox
from autograder.sandbox import BwrapBackend, NoBackend, SandboxUnavailable, UidBackend, choose_backend
from autograder.sandbox.access import close_off, closed_ancestor, coverable, open_up, reachable
from autograder.sandbox.kill import UidLease

NOBODY = 2_000_000_123


def test_auto_prefers_bwrap_here_and_reports_it():
    backend = choose_backend("auto")
    assert isinstance(backend, BwrapBackend) and backend.name == "bwrap"
    assert backend.details["network"] == "none"


def test_none_only_on_request_and_loudly(capsys):
    assert isinstance(choose_backend("none"), NoBackend)
    assert "WITHOUT isolation" in capsys.readouterr().err
    with pytest.raises(SandboxUnavailable, match="unknown sandbox backend"):
        choose_backend("docker")


def test_without_bwrap_or_root(monkeypatch, capsys):
    """A student's laptop: checks fall back to `none` with a note; grading refuses and says why."""
    monkeypatch.setattr(sandbox, "bwrap_works", lambda: False)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert isinstance(choose_backend(None, own_code=True), NoBackend)
    assert "fine for your own checks" in capsys.readouterr().err
    with pytest.raises(SandboxUnavailable, match="install bubblewrap.*--sandbox none"):
        choose_backend(None)
    with pytest.raises(SandboxUnavailable, match="needs the grader to run as root"):
        UidBackend()


@pytest.fixture
def open_tmp():
    """A folder straight under the temp dir (pytest's own tmp_path sits in a closed folder)."""
    folder = Path(tempfile.mkdtemp())
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder)


def test_reachability_by_mode_bits(open_tmp):
    closed = open_tmp / "closed"
    inner = closed / "inner"
    inner.mkdir(parents=True)
    (inner / "f.txt").write_text("x")
    os.chmod(closed, 0o700)
    assert closed_ancestor(inner / "f.txt", NOBODY) == closed
    assert not reachable(inner / "f.txt", NOBODY)
    assert open_up([inner / "f.txt"], NOBODY) == []  # ours, under the temp dir: opened for traversal
    assert os.stat(closed).st_mode & 0o777 == 0o701 and reachable(inner / "f.txt", NOBODY)
    close_off([inner])
    assert not reachable(inner / "f.txt", NOBODY)


def test_paths_outside_the_temp_dir_are_never_loosened():
    repo = Path(__file__).resolve().parents[2]
    if repo.is_relative_to(Path(tempfile.gettempdir()).resolve()):
        pytest.skip("this checkout lives under the temp dir")
    closed = Path(tempfile.mkdtemp(prefix=".closed-", dir=repo))
    try:
        inner = closed / "inner"
        inner.mkdir()
        os.chmod(closed, 0o700)
        assert open_up([inner], NOBODY) == [inner]
        assert os.stat(closed).st_mode & 0o777 == 0o700
    finally:
        shutil.rmtree(closed)


def test_uid_without_mount_namespaces_needs_a_readable_python(monkeypatch, open_tmp):
    """A container without CAP_SYS_ADMIN: the backend says what to fix instead of loosening /root."""
    monkeypatch.setattr(sandbox, "mount_namespaces_work", lambda: False)
    backend = UidBackend()
    scratch = open_tmp / "scratch"
    scratch.mkdir()
    spec = sandbox.LaunchSpec(argv=["true"], env={}, pass_fds=(), limits=sandbox.Limits(), writable=[scratch])
    with pytest.raises(SandboxUnavailable, match="install Python and the venv world-readable"):
        backend.spawn(spec)
    assert backend.details["network"] == "open"
    backend.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="the uid backend needs root")
@pytest.mark.parametrize("sandbox_name, full_marks", [("uid", True), ("none", False)])
def test_a_checkouts_history_and_built_releases_are_out_of_the_workers_reach(
    sandbox_name, full_marks, monkeypatch
):
    """An instructor's checkout is world-readable, and its .git and release/ zips hold the hidden
    tests; a TA's class folder holds classmates' work: the uid worker must read none of them
    (without a sandbox it can, which proves the attempt)."""
    from autograder.grade.runner import HIDE_FROM_WORKER, grade
    from tests.conftest import MINI_GOOD, submission, write_mini_course

    base = Path(tempfile.mkdtemp(prefix="course-open-"))
    try:
        base.chmod(0o755)
        layout = write_mini_course(base / "course")
        for rel in (".git/objects/ab/cdef", "release/autograder/mini/test_mini.py"):
            (layout.root / rel).parent.mkdir(parents=True)
            (layout.root / rel).write_text("hidden grader")
        (base / "class" / "bob").mkdir(parents=True)
        (base / "class" / "bob" / "mini.py").write_text("a classmate's work")
        monkeypatch.setenv(HIDE_FROM_WORKER, str(base / "class"))  # as batch grading sets it
        secrets = [
            str(layout.root / ".git/objects/ab/cdef"),
            str(layout.root / "release/autograder/mini/test_mini.py"),
            str(base / "class" / "bob" / "mini.py"),
        ]
        peek = (
            f"    for p in {secrets!r}:\n"
            "        try:\n            open(p).read()\n            return 0\n"
            "        except OSError:\n            pass\n"
            "    return a + b\n"
        )
        source = MINI_GOOD.replace("def add(a, b):\n    return a + b\n", "def add(a, b):\n" + peek)
        results = grade(
            layout, "mini", submission(base / "class" / "alice", source), base / "out", sandbox=sandbox_name
        )
        passed = next(t for t in results.tests if t.name.startswith("add()")).score > 0
        assert passed == full_marks, [t.output for t in results.tests]
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_secrets_inside_other_secrets_are_covered_once(tmp_path):
    for rel in ("a/b", "c"):
        (tmp_path / rel).mkdir(parents=True)
    hide = coverable([tmp_path / "a" / "b", tmp_path / "a", tmp_path / "c", tmp_path / "missing"], needed=[])
    assert hide == [(tmp_path / "a").resolve(), (tmp_path / "c").resolve()]
    # a folder around what the worker needs stays open, and the secrets inside it are covered one by one
    assert coverable([tmp_path, tmp_path / "a" / "b"], needed=[tmp_path / "c"]) == [
        (tmp_path / "a" / "b").resolve()
    ]


@pytest.mark.skipif(os.geteuid() != 0, reason="job uids need root")
def test_a_killed_graders_uid_is_swept_by_the_next_and_a_live_one_never():
    """A job uid's lease outlives nothing: its grader killed (no close()), the next grader kills the
    uid's processes; while its grader lives, no other grader touches them."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, subprocess, sys, time\n"
            "from autograder.sandbox.kill import UidLease\n"
            "lease = UidLease()\n"
            "def as_uid(): os.setgid(lease.uid); os.setuid(lease.uid)\n"
            "subprocess.Popen(['sleep', '300'], preexec_fn=as_uid, start_new_session=True)\n"
            "print(lease.uid, flush=True)\n"
            "time.sleep(300)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert holder.stdout is not None
    uid = int(holder.stdout.readline())

    def sleepers() -> list[int]:
        return [int(p) for p in os.listdir("/proc") if p.isdigit() and _uid_of(p) == uid]

    try:
        UidLease().release()  # a grader while the holder lives
        assert sleepers(), "a live grader's job was killed"
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        assert sleepers(), "nothing left to sweep: the test proves nothing"
        UidLease().release()  # the next grader
        deadline = time.monotonic() + 10
        while sleepers() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not sleepers(), "the killed grader's job survived the next grader"
    finally:
        holder.kill()


def _uid_of(pid: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Uid:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None
