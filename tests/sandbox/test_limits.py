"""Each limit from course.yaml, breached in a worker started directly: the message names the limit
and the call, for every backend that can run here."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from autograder.config import Limits
from autograder.sandbox import cgroup as cgroup_module
from autograder.sandbox import choose_backend, runtime_paths
from autograder.worker.client import StudentError, StudentHandle, WorkerConfig

SOURCE = """
import os, time

def busy(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return 1

def grab(mib):
    block = bytearray(mib * 1024**2)
    return len(block)

def whoami():
    return {"uid": os.getuid(), "pid": os.getpid(), "cwd": os.getcwd(), "home": os.listdir("/")}
"""


@pytest.fixture
def handle(tmp_path: Path):
    """handle(sandbox, deadline=None, **limits) -> a StudentHandle on SOURCE; all closed at the end."""
    made: list[StudentHandle] = []

    def make(sandbox: str, deadline: float | None = None, **limits) -> StudentHandle:
        files, scratch = tmp_path / "files", tmp_path / f"scratch{len(made)}"
        for folder in (files, scratch):
            folder.mkdir(exist_ok=True)
        (files / "lab.py").write_text(SOURCE)
        cfg = WorkerConfig(
            files_dir=files,
            module_name="lab",
            scratch=scratch,
            data=None,
            assets={},
            seed=1,
            limits=Limits(**limits),
            backend=choose_backend(sandbox),
        )
        made.append(StudentHandle(cfg, deadline=deadline))
        return made[-1]

    yield make
    for student in made:
        student.close()
        student.cfg.backend.close()


@pytest.fixture(params=["bwrap", "uid", "none"])
def sandbox(request) -> str:
    return request.param


def test_cpu_limit(handle, sandbox):
    student = handle(sandbox, cpu=1, call=30)
    with pytest.raises(StudentError, match=r"used more than 1 s of CPU time while calling busy\(\)"):
        student.call("busy", 20)
    assert student.call("busy", 0) == 1  # a fresh worker answers the next call


def test_whole_job_wall_time(handle, sandbox):
    student = handle(sandbox, deadline=time.monotonic() + 2, wall=2, call=30)
    with pytest.raises(
        StudentError, match=r"2 s time limit for grading this submission ran out while calling busy"
    ):
        student.call("busy", 10)
    with pytest.raises(StudentError, match="was used up before this test"):
        student.call("busy", 0)


def test_memory_by_cgroup_and_by_rlimit(handle, monkeypatch):
    student = handle("bwrap", memory=300 * 1024**2)
    with pytest.raises(StudentError, match=r"used more than 300 MiB of memory while calling grab\(\)"):
        student.call("grab", 600)
    monkeypatch.setattr(cgroup_module.Cgroup, "create", classmethod(lambda cls, memory, processes: None))
    student = handle("bwrap", memory=300 * 1024**2)
    with pytest.raises(StudentError, match=r"used more than 300 MiB of memory while calling grab\(\)"):
        student.call("grab", 600)
    assert student.call("grab", 10) == 10 * 1024**2


def test_what_the_worker_sees(handle, tmp_path):
    bwrap = handle("bwrap").call("whoami")
    assert bwrap["uid"] != 0 and bwrap["pid"] < 10  # its own uid and PID namespace
    runtime_tops = {path.parts[1] for path in [*runtime_paths(), tmp_path]}  # wherever this checkout lives
    assert set(bwrap["home"]) <= {
        "usr",
        "etc",
        "bin",
        "sbin",
        "lib",
        "lib32",
        "lib64",
        "proc",
        "dev",
        "tmp",
        *runtime_tops,
    }
    uid = handle("uid").call("whoami")
    assert uid["uid"] not in (0, bwrap["uid"])
