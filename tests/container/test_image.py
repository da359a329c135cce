"""Module 1 graded in real containers, as Gradescope runs it: the image is built once per run from
`course release`'s zip (base image made from Debian's packages and cached on disk, never pulled),
then each submission gets a fresh container with --network none and capped memory, CPUs and pids.
The container's results must equal `course grade` on this machine, test for test."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.layout import Layout
from tests.conftest import REPO

MODULE = "m01-tokenizers"
TAG = "course-test-m01:latest"
NETWORK = '''
def encode(tokenizer, text):
    """Phones home first: the grading container has no network."""
    import socket

    socket.create_connection(("1.1.1.1", 80), timeout=5).close()
    return tokenizer(text)["input_ids"]
'''
MEMORY = '''
def encode(tokenizer, text):
    """Holds 6 GiB: more than the module's 4 GiB."""
    hog = bytearray(6 * 2**30)
    return [len(hog)]
'''


def _course(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autograder.cli", *args], cwd=REPO, capture_output=True, text=True, **kw
    )


@pytest.fixture(scope="session")
def docker_host() -> str:
    """A Docker daemon: DOCKER_HOST's, the system's, or a private one (installed here when missing
    and we are root). Skips only where Docker cannot run at all."""
    from autograder.image.daemon import DockerUnavailable, connect

    if not shutil.which("dockerd") and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["sh", str(REPO / "scripts" / "install-docker.sh")], check=False)
    try:
        host, private = connect()
    except DockerUnavailable as exc:
        pytest.skip(f"Docker cannot run here: {exc}")
    yield host
    if private:
        private.stop()


@pytest.fixture(scope="session")
def image(docker_host: str) -> str:
    started = time.monotonic()
    done = _course(
        "image", "build", "--module", MODULE, "--tag", TAG, env={**os.environ, "DOCKER_HOST": docker_host}
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    print(f"\nimage {TAG} built in {time.monotonic() - started:.0f} s\n{done.stdout[-1500:]}")
    return TAG


@pytest.fixture(scope="session")
def submissions(tmp_path_factory) -> dict[str, Path]:
    from autograder.validate import load_mistakes, mistake_submission, starter_submission, write_submission

    layout = Layout(REPO)
    work = tmp_path_factory.mktemp("container-subs")
    reference = (layout.reference_dir(MODULE) / "tokenizers_lab.py").read_bytes()
    mistake = load_mistakes(layout, MODULE)[0]
    return {
        "reference": write_submission(work / "reference", {"tokenizers_lab.py": reference}),
        "starter": starter_submission(layout, MODULE, work / "starter"),
        "mistake": mistake_submission(layout, MODULE, mistake, work / "mistake"),
        "network": write_submission(work / "network", {"tokenizers_lab.py": reference + NETWORK.encode()}),
        "memory": write_submission(work / "memory", {"tokenizers_lab.py": reference + MEMORY.encode()}),
    }


def grade_in_image(docker_host: str, image: str, sub: Path, out: Path) -> dict:
    done = _course(
        "image",
        "grade",
        MODULE,
        str(sub),
        "--out",
        str(out),
        "--image",
        image,
        "--quiet",
        env={**os.environ, "DOCKER_HOST": docker_host},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads((out / "results.json").read_text())


def grade_on_host(sub: Path, out: Path) -> dict:
    done = _course("grade", MODULE, str(sub), "--out", str(out), "--quiet")
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads((out / "results.json").read_text())


def _tests(results: dict) -> list[tuple]:
    """Each test's name, status, scores and message. A progress bar the student's code printed (the
    message quotes its last lines) shows whichever frames its timing drew: any two runs differ."""
    bar = re.compile(r"^.*\d+/\d+ \[[^\]]*\].*$", re.MULTILINE)
    return [
        (t["name"], t["status"], t["score"], t["max_score"], bar.sub("<progress bar>", t.get("output", "")))
        for t in results["tests"]
    ]


@pytest.mark.parametrize("which", ["reference", "starter", "mistake"])
def test_container_grades_like_the_host(docker_host, image, submissions, tmp_path, which):
    """Same tests, scores and messages in the container as with `course grade` here."""
    container = grade_in_image(docker_host, image, submissions[which], tmp_path / "container")
    host = grade_on_host(submissions[which], tmp_path / "host")
    points = Layout(REPO).course.module(MODULE).points
    expected = {"reference": points, "starter": 0}
    if which in expected:
        assert container["score"] == expected[which]
    else:  # the mistake loses the tests mistakes.yaml says catch it, and keeps others
        from autograder.validate import load_mistakes

        fails = set(load_mistakes(Layout(REPO), MODULE)[0].fails)
        lost = {t["extra_data"]["id"] for t in container["tests"] if t["score"] < t["max_score"]}
        assert fails <= lost, (fails, lost)
        assert 0 < container["score"] < points
    assert _tests(container) == _tests(host)
    assert container["score"] == host["score"]
    extra = container["extra_data"]
    assert extra["container"]["network"] == "none"
    assert extra["sandbox"] in ("bwrap", "uid")
    if which == "reference":  # setup.sh cached the reference's answers when the image was built
        assert extra["reference_cached_calls"] > 0


def test_batch_network_and_memory_get_plain_messages(docker_host, image, submissions, tmp_path):
    """Two students graded as a batch, a container each: one phones home, one holds 6 GiB. Each loses
    the points of the function that misbehaved, with a message that says why, and both are in the
    gradebook `course grade` fills."""
    from autograder.gradebook import Gradebook

    subs = tmp_path / "subs"
    subs.mkdir()
    for student in ("network", "memory"):
        shutil.copytree(submissions[student], subs / student)
    done = _course(
        "image", "grade", MODULE, str(subs), "--out", str(tmp_path / "out"), "--image", image, "--jobs", "2",
        env={**os.environ, "DOCKER_HOST": docker_host},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = {
        s: json.loads((tmp_path / "out" / s / "results.json").read_text()) for s in ("network", "memory")
    }
    messages = {
        s: [t["output"] for t in r["tests"] if t["score"] < t["max_score"]] for s, r in results.items()
    }
    assert any("network is unreachable" in m.lower() for m in messages["network"]), messages["network"]
    assert any("used more than 4 GiB of memory" in m for m in messages["memory"]), messages["memory"]
    # the worker's own limit stopped it, not the container's: the grader lived to say so
    assert not results["memory"]["extra_data"]["container"]["oom_killed"]
    with Gradebook(tmp_path / "out" / "gradebook.sqlite") as book:
        rows = {row.student: row for row in book.latest(MODULE)}
    assert set(rows) == {"network", "memory"}
    assert all(row.status == "graded" and 0 < row.raw_score < row.max_score for row in rows.values())
