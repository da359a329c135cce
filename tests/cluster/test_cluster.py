"""Batch grading on a real Dask cluster (scheduler and two workers as separate processes on loopback):
the same results as the local pool, nothing lost or graded twice when a worker or the coordinator is
killed, and a module no worker can run refused at once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import zipfile
from pathlib import Path

import pytest

from autograder.batch import BatchError, Submission
from autograder.batch.cli import worker_command
from autograder.batch.cluster import able, machine_resources, needs, pack, unpack
from autograder.config import Module
from autograder.grade.intake import IntakeError, take_in
from tests.batch.conftest import CRASH, GOOD, WRONG_ADD, course_cmd, run_course, write_class
from tests.cluster.conftest import SLEEPY, wait_until

MIXED = {"ada": (GOOD, 4.0), "dee": (WRONG_ADD, 2.0), "eve": (CRASH, 0.0), "hal": ("def add(a, b)\n", 0.0)}


def per_test(out: Path) -> dict[str, list[tuple[str, float, str]]]:
    """Per student, each test's name, score and status, as results.json says."""
    found = {}
    for path in sorted(out.glob("*/results.json")):
        results = json.loads(path.read_text())
        found[path.parent.name] = [(t["name"], t["score"], t["status"]) for t in results["tests"]]
    return found


def rows(out: Path) -> dict[str, int]:
    """Gradebook rows per student: one per grading recorded."""
    with sqlite3.connect(out / "gradebook.sqlite") as db:
        return dict(db.execute("SELECT student, count(*) FROM submissions GROUP BY student"))


def test_cluster_grades_like_the_local_pool(on_cluster_course, cluster, tmp_path):
    subs = write_class(tmp_path / "subs", MIXED)
    local = run_course(
        on_cluster_course, "grade", "mini", str(subs), "--out", str(tmp_path / "pool"), "--jobs", "2"
    )
    assert local.returncode == 0, local.stdout + local.stderr
    out = tmp_path / "dask"
    done = run_course(
        on_cluster_course, "grade", "mini", str(subs), "--out", str(out), "--cluster", cluster.address
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert per_test(out) == per_test(tmp_path / "pool"), "the cluster must grade exactly as the local pool"
    assert {s: json.loads((out / s / "results.json").read_text())["score"] for s in MIXED} == {
        s: score for s, (_, score) in MIXED.items()
    }
    for sid in MIXED:  # what a batch leaves per student, written by the coordinator
        assert {p.name for p in (out / sid).iterdir()} >= {
            "results.json",
            "feedback.html",
            "feedback.md",
            "grade.log",
        }
    assert "line 1" in json.loads((out / "hal" / "results.json").read_text())["tests"][0]["output"]
    assert rows(out) == dict.fromkeys(MIXED, 1)
    assert "mini: 4 submissions" in done.stdout and "graded" in done.stdout

    again = run_course(
        on_cluster_course, "grade", "mini", str(subs), "--out", str(out), "--cluster", cluster.address
    )
    assert again.returncode == 0 and again.stdout.count("skipped") == len(MIXED), again.stdout + again.stderr
    assert rows(out) == dict.fromkeys(MIXED, 1), "a re-run grades nothing already graded"


def test_module_needing_what_no_worker_has_fails_fast(on_cluster_course, cluster, tmp_path):
    subs = write_class(tmp_path / "subs", {"ada": (GOOD, 4.0), "ben": (GOOD, 4.0)})
    out = tmp_path / "out"
    done = run_course(
        on_cluster_course,
        "grade",
        "mini-gpu",
        str(subs),
        "--out",
        str(out),
        "--cluster",
        cluster.address,
        timeout=120,
    )
    message = " ".join(done.stderr.split())
    assert done.returncode == 2, done.stdout + done.stderr
    assert "mini-gpu needs gpu=1 per grading" in message and "no worker of" in message
    assert "w0: memory=3.7GiB cores=1" in message, "the TA sees what the workers offer"
    assert not (out / "ada" / "results.json").exists(), "nothing was graded"


def test_local_cluster_starts_and_routes_too(on_cluster_course, tmp_path):
    """--cluster local:N starts N Dask worker processes offering this machine's share: no GPU here."""
    if "gpu" in machine_resources():
        pytest.skip("this machine has a GPU: mini-gpu would be graded")
    subs = write_class(tmp_path / "subs", {"ada": (GOOD, 4.0)})
    done = run_course(
        on_cluster_course,
        "grade",
        "mini-gpu",
        str(subs),
        "--out",
        str(tmp_path / "o"),
        "--cluster",
        "local:1",
    )
    assert done.returncode == 2 and "mini-gpu needs gpu=1" in " ".join(done.stderr.split()), done.stderr
    typo = run_course(
        on_cluster_course, "grade", "mini", str(subs), "--out", str(tmp_path / "o"), "--cluster", "local:two"
    )
    assert typo.returncode == 2 and "write local:N" in typo.stderr, typo.stderr


def test_worker_killed_mid_grading_loses_nothing(on_cluster_course, cluster, tmp_path):
    students = {f"s{i}": (SLEEPY, 4.0) for i in range(3)}
    subs = write_class(tmp_path / "subs", students)
    out = tmp_path / "out"
    env = {**os.environ, "COURSE_ROOT": str(on_cluster_course.root)}
    coordinator = subprocess.Popen(
        course_cmd(
            on_cluster_course, "grade", "mini", str(subs), "--out", str(out), "--cluster", cluster.address
        ),
        cwd=on_cluster_course.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert wait_until(lambda: cluster.gradings(1)), "worker 1 never started a grading"
        cluster.workers[1].send_signal(signal.SIGKILL)  # kill -9 the worker mid-grading
        output, _ = coordinator.communicate(timeout=240)
    finally:
        coordinator.kill()
    assert coordinator.returncode == 0, output
    assert rows(out) == dict.fromkeys(students, 1), "each submission recorded exactly once"
    assert {s: t[0][1] for s, t in per_test(out).items()} == dict.fromkeys(students, 2.0)
    assert all(json.loads((out / s / "results.json").read_text())["score"] == 4.0 for s in students)
    cluster.restart(1)


def test_killed_coordinator_loses_nothing_and_rerun_finishes(on_cluster_course, cluster, tmp_path):
    students = {f"k{i}": (SLEEPY, 4.0) for i in range(5)}
    subs = write_class(tmp_path / "subs", students)
    out = tmp_path / "out"
    args = ("grade", "mini", str(subs), "--out", str(out), "--cluster", cluster.address)
    coordinator = subprocess.Popen(
        course_cmd(on_cluster_course, *args),
        cwd=on_cluster_course.root,
        env={**os.environ, "COURSE_ROOT": str(on_cluster_course.root)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_until(lambda: (out / "gradebook.sqlite").exists() and sum(_count(out).values()) >= 2)
    finally:
        coordinator.send_signal(signal.SIGKILL)
        coordinator.wait()
    kept = _count(out)
    assert len(kept) < len(students), "the batch finished before it was killed; the test proves nothing"
    # the scheduler cancels the dead coordinator's tasks; the workers stop their gradings
    assert wait_until(lambda: not cluster.gradings(0) and not cluster.gradings(1), 60)

    resumed = run_course(on_cluster_course, *args)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert rows(out) == dict.fromkeys(students, 1), "nothing lost, nothing graded twice"
    assert resumed.stdout.count("skipped") == len(kept)


def _count(out: Path) -> dict[str, int]:
    try:
        return rows(out)
    except sqlite3.OperationalError:  # the coordinator is still creating the schema
        return {}


# -- the pieces, without a cluster -----------------------------------------------------------------
def test_packed_submission_is_taken_in_as_the_original(tmp_path):
    folder = tmp_path / "subs" / "ada"
    (folder / "pkg").mkdir(parents=True)
    (folder / "mini.py").write_text(GOOD)
    (folder / "pkg" / "notes.txt").write_text("n")
    (folder / ".git").mkdir()
    (folder / ".git" / "big").write_bytes(b"x" * 1000)
    with zipfile.ZipFile(tmp_path / "subs" / "hal.zip", "w") as zf:
        zf.writestr("mini.py", GOOD)
    for sub in (Submission("ada", folder), Submission("hal", tmp_path / "subs" / "hal.zip")):
        kind, data = pack(sub)
        there = tmp_path / "worker" / sub.student
        there.mkdir(parents=True)
        rebuilt = unpack(kind, data, sub.student, there)
        assert (
            take_in(rebuilt, there / "w", ["mini.py"]).content_hash
            == take_in(sub.path, there / "c", ["mini.py"]).content_hash
        )
    assert (
        pack(Submission("hal", tmp_path / "subs" / "hal.zip"))[1]
        == (tmp_path / "subs" / "hal.zip").read_bytes()
    )

    (folder / "link.py").symlink_to("/etc/passwd")  # refused on the worker, as it is here
    (tmp_path / "worker2").mkdir()
    rebuilt = unpack(*pack(Submission("ada", folder)), "ada", tmp_path / "worker2")
    with pytest.raises(IntakeError, match="link.py is a symbolic link"):
        from autograder.grade.intake import copy_folder

        copy_folder(rebuilt, tmp_path / "copy")
    linked = tmp_path / "subs" / "zed"
    linked.symlink_to(folder)
    (tmp_path / "worker3").mkdir()
    rebuilt = unpack(*pack(Submission("zed", linked)), "zed", tmp_path / "worker3")
    assert rebuilt.is_symlink() and not rebuilt.exists()


def test_oversized_submission_is_not_sent(tmp_path, monkeypatch):
    import autograder.batch.cluster as cluster_mod

    monkeypatch.setattr(cluster_mod, "MAX_SEND_BYTES", 1000)
    (tmp_path / "ada").mkdir()
    (tmp_path / "ada" / "mini.py").write_bytes(os.urandom(5000))
    with pytest.raises(BatchError, match="ada's submission is 0 MiB packed, over the 0 MiB"):
        pack(Submission("ada", tmp_path / "ada"))


def test_resources_route_tasks():
    module = Module(
        id="m", title="M", points=1, files=["m.py"], resources={"memory": "6GiB", "gpu": "required"}
    )
    wanted, prefers = needs(module)
    assert wanted == {"memory": 6 * 1024**3, "gpu": 1} and not prefers
    workers = {
        "cpu": {"resources": {"memory": 64e9, "cores": 16}},
        "gpu": {"resources": {"memory": 64e9, "cores": 16, "gpu": 1}},
        "small-gpu": {"resources": {"memory": 4e9, "gpu": 1}},
        "bare": {"resources": {}},
    }
    assert able(workers, wanted) == ["gpu"]
    assert able(workers, {}) == list(workers), "a module that declares nothing runs anywhere"
    assert needs(Module(id="m", title="M", points=1, files=["m.py"], resources={"gpu": "preferred"})) == (
        {},
        True,
    )
    with pytest.raises(ValueError, match="gpu"):
        Module(id="m", title="M", points=1, files=["m.py"], resources={"gpu": "yes"})


def test_worker_command_declares_the_machine():
    cmd = worker_command("tcp://10.0.0.1:8786", {"memory": 24e9, "cores": 16.0, "gpu": 1.0}, 16, "lab-3")
    assert cmd[1:3] == ["worker", "tcp://10.0.0.1:8786"]
    assert cmd[cmd.index("--resources") + 1] == "memory=24000000000 cores=16 gpu=1"
    assert cmd[cmd.index("--nthreads") + 1] == "16" and cmd[cmd.index("--memory-limit") + 1] == "0"
