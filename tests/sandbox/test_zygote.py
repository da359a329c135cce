"""A worker forked from the zygote is as isolated as a spawned one: the red-team suite's key attacks,
graded with `limits.zygote: true`, and two students' workers kept apart."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from autograder.config import Limits
from autograder.grade.runner import grade
from autograder.layout import Layout
from autograder.sandbox import choose_backend
from autograder.worker.client import StudentError, StudentHandle, WorkerConfig
from autograder.worker.zygote import ForkedRunning, preload
from tests.redteam.conftest import COURSE, Graded, write_course

# The key attacks, collected here again with this module's `rt` and `grade_it` (zygote on).
from tests.redteam.test_code_attacks import (  # noqa: F401
    test_daemon_left_behind_is_killed,
    test_fork_bomb,
    test_hidden_tests_reference_and_labels_are_out_of_reach,
    test_memory_bomb,
    test_no_network_not_even_the_hosts_loopback,
    test_thread_bomb,
)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the zygote needs cgroups (root)")

FORKED = "workers forked from a pre-imported one"


@pytest.fixture(scope="session")
def rt(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    layout = write_course(tmp_path_factory.mktemp("zygote") / "course")
    limits = COURSE.split("limits: ", 1)[1].split("\n", 1)[0]
    zygote_on = json.dumps({**json.loads(limits), "zygote": True})
    (layout.root / "course.yaml").write_text(COURSE.replace(limits, zygote_on).lstrip())
    return layout


@pytest.fixture
def grade_it(rt: Layout, tmp_path: Path):
    """The red-team suite's grade_it, plus proof that the workers were forked from the zygote."""

    def run(source: str, sandbox: str | None = None) -> Graded:
        folder = tmp_path / "submission"
        folder.mkdir(exist_ok=True)
        (folder / "solution.py").write_text(textwrap.dedent(source))
        grade(rt, "rt", folder, tmp_path / "out", sandbox=sandbox)
        graded = Graded(tmp_path / "out")
        graded.check_sane()
        assert graded.data["extra_data"]["sandbox_details"].get("zygote") == FORKED, graded.text
        return graded

    return run


LAB = """
import os

def write(name, text):
    with open(name, "w") as fh:
        fh.write(text)
    return os.path.abspath(name)

def read(path):
    with open(path) as fh:
        return fh.read()

def who():
    return [os.getuid(), os.getsid(0) == os.getpid(), len(os.listdir("/proc/self/task"))]
"""


def _handle(tmp_path: Path, name: str, sandbox: str, zygote: bool) -> StudentHandle:
    files, scratch = tmp_path / name / "files", tmp_path / name / "scratch"
    for folder in (files, scratch):
        folder.mkdir(parents=True)
    (files / "lab.py").write_text(LAB)
    limits = Limits(zygote=zygote, call=30)
    cfg = WorkerConfig(files, "lab", scratch, None, {}, 1, limits, choose_backend(sandbox))
    return StudentHandle(cfg)


@pytest.mark.parametrize("sandbox", ["bwrap", "uid"])
def test_two_students_workers_cannot_see_each_others_files(tmp_path: Path, sandbox: str) -> None:
    alice, bob = _handle(tmp_path, "alice", sandbox, True), _handle(tmp_path, "bob", sandbox, True)
    try:
        secret = alice.call("write", "answer.txt", "alice's work")
        with pytest.raises(StudentError):
            bob.call("read", secret)
        assert alice.call("read", secret) == "alice's work"
        for student in (alice, bob):
            assert isinstance(student._worker.job, ForkedRunning)
            uid, own_session, threads = student.call("who")
            assert own_session and threads == 1
        assert alice.call("who")[0] != bob.call("who")[0]  # one uid per job, as for spawned workers
        assert alice.cfg.backend.zygote is not bob.cfg.backend.zygote
    finally:
        for student in (alice, bob):
            student.close()
            student.cfg.backend.close()


def test_a_stopped_worker_is_replaced_by_a_fork_and_a_dead_zygote_by_a_cold_spawn(tmp_path: Path) -> None:
    student = _handle(tmp_path, "carol", "bwrap", True)
    try:
        student.call("who")
        zygote = student.cfg.backend.zygote
        student.restart()
        student.call("who")
        assert student.cfg.backend.zygote is zygote and zygote.alive()  # stopping a worker spares it
        zygote.job.stop()
        student.restart()
        assert student.call("who")[1]  # a new zygote, or a cold worker: either way an answer
    finally:
        student.close()
        student.cfg.backend.close()


def test_a_prestarted_zygote_serves_the_first_worker(tmp_path: Path) -> None:
    """The runner starts the zygote before the tests run; the first call forks from that one."""
    student = _handle(tmp_path, "dave", "bwrap", True)
    try:
        student.prestart()
        zygote = student.cfg.backend.zygote
        assert zygote is not None and zygote.alive()
        assert student.call("who")[1]
        assert isinstance(student._worker.job, ForkedRunning)
        assert student.cfg.backend.zygote is zygote
    finally:
        student.close()
        student.cfg.backend.close()


def test_on_by_default_and_preload_reads_only_heavy_imports(tmp_path: Path) -> None:
    assert Limits().zygote is True
    (tmp_path / "a.py").write_text("import torch.nn\nfrom transformers import AutoModel\nimport os, evil\n")
    (tmp_path / "b.py").write_text("def broken(:\n")
    assert preload(tmp_path, {}) == ["torch", "transformers", "transformers:AutoModel"]
    assert preload(tmp_path / "none", {"tok": "/x"}) == [
        "transformers",
        "transformers:AutoModel",
        "transformers:AutoTokenizer",
    ]
