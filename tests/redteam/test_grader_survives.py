"""The grader itself under attack: killed mid-run, and many gradings at once."""

from __future__ import annotations

import json
import signal
import time
import uuid

import pytest

from tests.redteam.conftest import GOOD, Graded, course_grade, processes_with, wait_until_gone


def daemon(marker: str) -> str:
    """Source that leaves a double-forked process behind, recognisable by `marker`."""
    return f"""
import os, subprocess, sys
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", {marker!r}])
    os._exit(0)
"""


@pytest.mark.parametrize("sandbox", ["bwrap", "uid"])
def test_grader_killed_mid_run_keeps_finished_tests_and_leaves_nothing(rt, tmp_path, sandbox):
    marker = f"killed-{uuid.uuid4().hex}"
    folder = tmp_path / "slow"
    folder.mkdir()
    (folder / "solution.py").write_text(
        daemon(marker)
        + GOOD.replace('return "pos" if', 'import time\n    time.sleep(60)\n    return "pos" if')
    )
    out = tmp_path / "out"
    grader = course_grade(rt, folder, out, "--sandbox", sandbox)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            tests = json.loads((out / "results.json").read_text())["tests"]
        except (OSError, ValueError):
            tests = []
        if sum(t.get("status") == "passed" for t in tests) == 2 and processes_with(marker):
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the first two tests never finished")
    grader.send_signal(signal.SIGKILL)
    grader.communicate()

    data = json.loads((out / "results.json").read_text())  # whole, parseable, and what was earned is kept
    assert data["score"] == 2 and [t["status"] for t in data["tests"][:2]] == ["passed", "passed"]
    if sandbox == "uid":  # no PID namespace: what the worker left is swept by the next grading
        (tmp_path / "next").mkdir()
        (tmp_path / "next" / "solution.py").write_text(GOOD)
        course_grade(rt, tmp_path / "next", tmp_path / "again", "--sandbox", sandbox).communicate()
    assert not wait_until_gone(marker), "the sandbox outlived its grader"


def test_concurrent_gradings_are_consistent_and_clean(rt, tmp_path):
    marker = f"many-{uuid.uuid4().hex}"
    wrong = daemon(marker) + GOOD.replace("return a + b", "return a * b")
    runs = []
    for i in range(6):
        folder = tmp_path / f"s{i}"
        folder.mkdir()
        (folder / "solution.py").write_text(GOOD if i % 2 == 0 else wrong)
        runs.append((i, tmp_path / f"out{i}", course_grade(rt, folder, tmp_path / f"out{i}")))
    for i, out, proc in runs:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err.decode()
        graded = Graded(out)
        graded.check_sane()
        assert graded.score == (4 if i % 2 == 0 else 3), graded.text
        if i % 2:
            assert graded.output("test_add") == "add(2, 3) is wrong"
    assert not wait_until_gone(marker)
