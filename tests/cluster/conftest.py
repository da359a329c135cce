"""A real Dask cluster on loopback: `dask scheduler` and two `dask worker` processes, each started as
its own process (as a TA would on separate machines), grading the mini course. One per test run:
tests/portal imports these fixtures too, and whichever asks first starts the cluster (kept in the
run's stash, since each import is a fixture of its own). Every process is killed, with whatever it
started, after the last test that uses the cluster (tests/conftest.py)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from autograder.batch.cluster import WORKER_ENV
from autograder.layout import Layout
from tests.batch.conftest import COURSE
from tests.conftest import MINI_GOOD, REPO, write_mini_course

DASK = str(Path(sys.executable).with_name("dask"))
# mini-gpu grades like mini but requires a GPU, which no worker here declares
CLUSTER_COURSE = COURSE + textwrap.indent(
    textwrap.dedent("""
    - id: mini-gpu
      title: Mini module on a GPU
      points: 4
      files: [mini.py]
      resources: {gpu: required}
    """),
    "  ",
)
SLEEPY = "import time\n" + MINI_GOOD.replace("    return a + b", "    time.sleep(1.0)\n    return a + b")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """The scheduler's address and its workers' processes; `restart` brings a killed worker back."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.env = {**os.environ, "COURSE_ROOT": str(root), **WORKER_ENV}
        self.scheduler = self._spawn(
            [
                DASK,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                self.address.rsplit(":", 1)[1],
                "--no-dashboard",
            ]
        )
        self.workers = [self._worker(i) for i in range(2)]
        self.wait_for(2)

    def _spawn(self, cmd: list[str]) -> subprocess.Popen:
        return subprocess.Popen(
            cmd,
            cwd=REPO,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _worker(self, i: int) -> subprocess.Popen:
        # no nanny: the process a test kills is the worker itself
        return self._spawn(
            [
                DASK,
                "worker",
                self.address,
                "--host",
                "127.0.0.1",
                "--nthreads",
                "1",
                "--no-nanny",
                "--memory-limit",
                "0",
                "--resources",
                "memory=4e9 cores=1",
                "--name",
                f"w{i}",
            ]
        )

    def wait_for(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout="60s") as client:
            client.wait_for_workers(n, timeout=120)

    def gradings(self, i: int) -> list[psutil.Process]:
        """The `course grade` processes worker `i` is running now."""
        try:
            return psutil.Process(self.workers[i].pid).children()
        except psutil.NoSuchProcess:
            return []

    def restart(self, i: int) -> None:
        self.workers[i].wait()
        self.workers[i] = self._worker(i)
        self.wait_for(len(self.workers))

    def close(self) -> None:
        """Kill every process (once: a reaped process's id may be another's by now)."""
        for proc in [*self.workers, self.scheduler]:
            if proc.returncode is not None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


COURSE_KEY = pytest.StashKey[Layout]()
CLUSTER_KEY = pytest.StashKey[Cluster]()


@pytest.fixture(scope="session")
def cluster_course(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Layout:
    stash = request.config.stash
    if COURSE_KEY not in stash:
        layout = write_mini_course(tmp_path_factory.mktemp("cluster") / "course")
        (layout.root / "course.yaml").write_text(textwrap.dedent(CLUSTER_COURSE).lstrip())
        for top in ("reference", "assignments"):
            shutil.copytree(layout.root / top / "mini", layout.root / top / "mini-gpu")
        stash[COURSE_KEY] = Layout(layout.root)
    return stash[COURSE_KEY]


@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest, cluster_course: Layout) -> Cluster:
    stash = request.config.stash
    if CLUSTER_KEY not in stash:
        stash[CLUSTER_KEY] = Cluster(cluster_course.root)
        request.config.add_cleanup(stash[CLUSTER_KEY].close)
    return stash[CLUSTER_KEY]


@pytest.fixture
def on_cluster_course(cluster_course: Layout, monkeypatch: pytest.MonkeyPatch) -> Layout:
    monkeypatch.setenv("COURSE_ROOT", str(cluster_course.root))
    return cluster_course


def wait_until(condition, timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False
