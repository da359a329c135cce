"""A small class of students on the mini course: batch gradings that finish in seconds."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from autograder.layout import Layout
from tests.conftest import MINI_GOOD as GOOD
from tests.conftest import REPO, write_mini_course

DUE = "2027-02-01T23:59:00+00:00"
COURSE = f"""
course: {{id: mini-course, title: Mini, term: test}}
defaults:
  limits: {{wall: 90s, call: 10s, memory: 1GiB}}
  late: {{grace: 1h, penalty_per_day: 10%, max_days: 3}}
modules:
  - id: mini
    title: Mini module
    points: 4
    due: {DUE}
    files: [mini.py]
"""

WRONG_ADD = GOOD.replace("return a + b", "return a - b")
CRASH = "import os\nos._exit(0)\n"
LOOP = GOOD.replace("return a + b", "while True:\n        pass")
MEMORY_BOMB = GOOD.replace("return a + b", "hog = bytearray(1536 * 2**20)\n    return len(hog)")
DAEMON = (
    GOOD
    + """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(600)
    os._exit(0)
"""
)

# student id -> (source, expected raw score)
CLASS = {
    "ada": (GOOD, 4.0),
    "ben": (GOOD, 4.0),
    "cy": (GOOD, 4.0),
    "dee": (WRONG_ADD, 2.0),
    "eve": (CRASH, 0.0),
    "fox": (LOOP, 2.0),
    "gus": (DAEMON, 4.0),
    "hal": ("def add(a, b)\n", 0.0),
    "ivy": (MEMORY_BOMB, 2.0),
}


@pytest.fixture
def klass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Layout:
    layout = write_mini_course(tmp_path / "course")
    (layout.root / "course.yaml").write_text(textwrap.dedent(COURSE).lstrip())
    data = layout.root / "assignments" / "mini" / "data"  # its path lands in every worker's environment,
    data.mkdir(parents=True, exist_ok=True)  # so leftovers() can find a worker's daemons
    (data / "note.txt").write_text("public data\n")
    monkeypatch.setenv("COURSE_ROOT", str(layout.root))
    return Layout(layout.root)


def write_class(folder: Path, students: dict[str, tuple[str, float]]) -> Path:
    """One subfolder per student, except `hal`, who hands in a zip."""
    import zipfile

    folder.mkdir(parents=True, exist_ok=True)
    for sid, (source, _) in students.items():
        if sid == "hal":
            with zipfile.ZipFile(folder / f"{sid}.zip", "w") as zf:
                zf.writestr("mini.py", source)
        else:
            (folder / sid).mkdir(exist_ok=True)
            (folder / sid / "mini.py").write_text(textwrap.dedent(source))
    return folder


def course_cmd(layout: Layout, *args: str) -> list[str]:
    return [sys.executable, "-m", "autograder.cli", *args]


def run_course(layout: Layout, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "COURSE_ROOT": str(layout.root), "COLUMNS": "150"}
    return subprocess.run(
        course_cmd(layout, *args), cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


def leftovers(marker: str, grace: float = 10.0) -> list[str]:
    """Live processes whose command line or environment mentions `marker` (a test's temporary folder),
    after up to `grace` seconds for killed ones to finish exiting on a loaded machine."""
    deadline = time.monotonic() + grace
    while (found := _alive(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def _alive(marker: str) -> list[str]:
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        try:
            if proc.pid == os.getpid() or proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            cmd = " ".join(proc.info["cmdline"] or [])
            if marker in cmd or any(marker in v for v in proc.environ().values()):
                found.append(f"{proc.pid}: {cmd[:120]}")
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return found
