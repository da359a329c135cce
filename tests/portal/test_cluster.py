"""The portal's grader on a real Dask cluster (tests/cluster's loopback scheduler and workers, one per
test run): queued submissions graded as the local pool grades them, a grader killed mid-queue loses
nothing and grades nothing twice, and a module no worker can grade is a one-line error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from autograder.layout import Layout
from autograder.portal import store
from autograder.portal.grader import drain
from tests.cluster import conftest as loopback
from tests.cluster.conftest import Cluster, wait_until
from tests.conftest import MINI_GOOD
from tests.portal.conftest import HALF, make_portal

cluster, cluster_course = loopback.cluster, loopback.cluster_course  # the test run's one cluster
UPLOADS = [("alice", MINI_GOOD), ("bob", HALF)]


def grader(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "autograder.cli", "portal", "grader", "--db", str(db), *args]


def per_test(db: Path) -> dict[int, list[tuple[str, float, str]]]:
    """Per job, each test's name, score and status, as the gradebook recorded them."""
    with store.closing(db) as conn:
        return {
            j.id: [
                (t["name"], t["score"], t["status"]) for t in store.results_of(conn, j.gradebook_id)["tests"]
            ]
            for j in store.jobs(conn)
            if j.gradebook_id is not None
        }


def recorded(db: Path) -> list[int]:
    """The portal job of each gradebook row: a job graded twice would appear twice."""
    with store.closing(db) as conn:
        return sorted(
            r[0]
            for r in conn.execute(
                "SELECT json_extract(results_json, '$.extra_data.portal_job') FROM submissions"
            )
        )


def test_portal_grader_on_the_cluster_grades_as_the_local_pool(
    cluster_course: Layout, cluster: Cluster, tmp_path: Path
) -> None:
    pool, dask = (make_portal(cluster_course, tmp_path / name / "portal.sqlite") for name in ("pool", "dask"))
    for portal in (pool, dask):
        for sid, source in UPLOADS:
            assert portal.upload(sid, source).status_code == 201
    drain(cluster_course, pool.db, jobs=2)

    env = {**os.environ, "COURSE_ROOT": str(cluster_course.root)}

    def drain_once() -> subprocess.CompletedProcess[str]:
        """One `course portal grader --cluster ... --once` run over what is queued."""
        return subprocess.run(
            grader(dask.db, "--cluster", cluster.address, "--once"),
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    first = subprocess.Popen(
        grader(dask.db, "--cluster", cluster.address),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert wait_until(lambda: cluster.gradings(0) or cluster.gradings(1)), "no worker started a grading"
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # mid-grading, with its jobs claimed and sent
        first.wait()
    assert len(recorded(dask.db)) < len(UPLOADS), (
        "the queue was done before the kill: the test proves nothing"
    )

    resumed = drain_once()
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    with store.closing(dask.db) as conn:
        assert [j.status for j in store.jobs(conn)] == ["graded", "graded"]
    assert recorded(dask.db) == [1, 2], "each job recorded exactly once"
    assert per_test(dask.db) == per_test(pool.db), "the cluster must grade exactly as the local pool"
    assert [sum(t[1] for t in tests) for tests in per_test(dask.db).values()] == [4.0, 2.0]
    assert (dask.db.parent / "results" / "2" / "grade.log").is_file(), "the grading's log comes back"

    assert dask.upload("alice", MINI_GOOD, module="mini-gpu").status_code == 201  # no worker declares a GPU
    refused = drain_once()
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "mini-gpu needs gpu=1 per grading" in refused.stderr and cluster.address in refused.stderr
    with store.closing(dask.db) as conn:
        assert store.job(conn, 3).status == "queued", "a job the cluster cannot grade waits in the queue"
    assert recorded(dask.db) == [1, 2]
