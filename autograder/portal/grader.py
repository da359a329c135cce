"""`course portal grader`: drains the portal's queue with batch grading's per-submission grading.

Each job is one `course grade` process (batch's `Grading`: same command, environment, deadline and
verdict), so student code never runs in this process nor in the web server. A job is claimed in one
transaction; its grading is recorded in the gradebook with the job's id in extra_data.portal_job,
then marked done. On start, a job a dead grader left running is finished from the gradebook if its
grading was recorded, else queued again: a killed grader loses nothing and grades nothing twice.

With `--cluster`, each claimed job is one Dask task of batch cluster grading (`grade_task`): only the
uploaded file travels, as bytes, and the worker's own course checkout grades it as the local pool
would. The portal's database, results and other uploads never leave this machine; claiming,
recording and recovery are the same as on the local pool.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

from autograder.batch import BatchError
from autograder.batch.cluster import (
    FILE,
    NOT_GRADED,
    ClusterGrader,
    able,
    check_workers,
    connect,
    needs,
    reply_of,
    send,
    window,
)
from autograder.batch.grader import Grading, sweep_orphans
from autograder.grade.results import failure_results, write_json_atomic
from autograder.grade.runner import grader_version
from autograder.gradebook import Gradebook
from autograder.gradebook.late import apply_to_results, assess, effective_due
from autograder.layout import Layout
from autograder.portal import store
from autograder.sandbox.kill import reap_orphans


def uploads_dir(db_path: Path) -> Path:
    return db_path.parent / "uploads"


def results_dir(db_path: Path, job_id: int) -> Path:
    return db_path.parent / "results" / str(job_id)


def _alive_graders() -> set[int]:
    return {p.pid for p in psutil.process_iter() if p.pid != os.getpid()} | {os.getpid()}


class QueueGrader:
    """Grades queued jobs, at most `jobs` at once, each recorded as soon as it finishes."""

    def __init__(self, layout: Layout, db_path: Path, jobs: int = 1) -> None:
        store.init(db_path)
        self.layout, self.db_path, self.jobs = layout, db_path, max(1, jobs)
        self.db = store.connect(db_path)
        self.book = Gradebook(db_path)
        self.running: dict[Grading, store.Job] = {}

    def close(self) -> None:
        for grading in self.running:
            grading.stop()
        self.db.close()
        self.book.close()

    def recover(self) -> int:
        """Re-queue what a dead grader left running; ours (this pid) count as dead too when idle."""
        alive = _alive_graders() - ({os.getpid()} if not self.running else set())
        return store.recover(self.db, alive)

    def _start(self, job: store.Job) -> Grading:
        course = self.layout.course
        return Grading(
            self.layout.root,
            job.module,
            Path(job.upload),
            results_dir(self.db_path, job.id),
            ["--suite", "hidden"],
            [self.db_path.parent],  # every upload, result and secret of the portal stays out of reach
            course.limits_for(job.module).wall,
        )

    def _finish(self, grading: Grading, job: store.Job) -> None:
        results, status = grading.verdict(grading.stop(), self.layout.course.module(job.module).points)
        self._record(job, results, status)

    def _record(self, job: store.Job, results: dict[str, Any], status: str) -> None:
        """Into results/<id>/results.json and the gradebook (late policy applied), then the job is done."""
        course = self.layout.course
        module = course.module(job.module)
        extra = results.setdefault("extra_data", {})
        extra.update(content_hash=job.content_hash, student=job.student, portal_job=job.id)
        version = grader_version(self.layout, job.module, "hidden")
        extra.setdefault("grader_version", version)
        due = effective_due(module.due, store.extension(self.db, job.student, job.module))
        lateness = assess(course.late_for(job.module), due, datetime.fromisoformat(job.submitted_at))
        apply_to_results(results, lateness)
        write_json_atomic(results_dir(self.db_path, job.id) / "results.json", results)
        gid = self.book.record(job.module, job.student, job.content_hash, version, results, lateness, status)
        store.finish(self.db, job.id, "graded" if status == "graded" else "failed", gid)

    def step(self) -> int:
        """Record what finished, start what fits; how many jobs are running or were just started."""
        for grading in [g for g in self.running if g.done()]:
            self._finish(grading, self.running.pop(grading))
        while len(self.running) < self.jobs and (job := store.claim(self.db, os.getpid())) is not None:
            self.running[self._start(job)] = job
        return len(self.running)

    def run(self, *, until_empty: bool, stop: threading.Event | None = None, poll: float = 0.1) -> None:
        ours_before = {p.pid for p in psutil.Process().children()}
        reap_orphans(True)  # what a grading leaves behind comes back to us to be killed
        try:
            self.recover()
            while not (stop and stop.is_set()):
                busy = self.step()
                sweep_orphans(ours_before | {g.proc.pid for g in self.running})
                if until_empty and not busy:
                    return
                time.sleep(poll)
        finally:
            for grading in self.running:
                grading.stop()
            self.running.clear()
            sweep_orphans(ours_before)
            reap_orphans(False)


class ClusterQueueGrader(QueueGrader):
    """QueueGrader whose gradings are Dask tasks on the cluster at `cluster` (tcp://host:port or
    local:N, as `course grade --cluster`); as many in flight as batch cluster grading keeps."""

    WORKER_WAIT, STALL = ClusterGrader.WORKER_WAIT, ClusterGrader.STALL

    def __init__(self, layout: Layout, db_path: Path, cluster: str) -> None:
        super().__init__(layout, db_path)
        self.cluster = cluster
        self.client: Any = None
        self.inflight: dict[Any, store.Job] = {}  # a distributed Future -> its job
        self.gpu_workers: dict[str, list[str]] = {}  # per module whose workers were checked
        self.room = 1
        self.last_able = self.checked = time.monotonic()

    def _send(self, job: store.Job) -> None:
        """Send one claimed job: its module's workers checked once (a BatchError stops the grader)."""
        module = self.layout.course.module(job.module)
        resources, prefers_gpu = needs(module)
        version = grader_version(self.layout, job.module, "hidden")
        if job.module not in self.gpu_workers:
            self.gpu_workers[job.module] = check_workers(
                self.client, self.cluster, job.module, "hidden", version, resources, self.WORKER_WAIT
            )
        try:
            data = Path(job.upload).read_bytes()
        except OSError as exc:
            self._failed(job, f"the upload cannot be read: {exc}")
            return
        task = {
            "module": job.module,
            "suite": "hidden",
            "version": version,
            "student": f"portal-{job.id}",  # a folder name on the worker: no student id travels
            "kind": FILE,
            "name": Path(job.upload).name,
            "data": data,
            "grade_args": ["--suite", "hidden"],
            "wall": self.layout.course.limits_for(job.module).wall,
            "points": module.points,
            "hide": [str(self.db_path.parent)],  # uploads, results, database: for a worker on this machine
        }
        prefer = self.gpu_workers[job.module] if prefers_gpu else []
        self.inflight[send(self.client, task, resources, prefer)] = job

    def _settle(self, future: Any, job: store.Job) -> None:
        try:
            reply = reply_of(future)
        except BatchError as exc:
            self._failed(job, str(exc))
            return
        dest = results_dir(self.db_path, job.id)
        dest.mkdir(parents=True, exist_ok=True)
        for name, content in reply["files"].items():
            (dest / Path(name).name).write_bytes(content)
        self._record(job, json.loads(reply["results"]), reply["status"])

    def _failed(self, job: store.Job, why: str) -> None:
        """No grading happened: recorded as failed (a regrade retries), the TA told why."""
        dest = results_dir(self.db_path, job.id)
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "grade.log").write_text(why + "\n", encoding="utf-8")
        points = self.layout.course.module(job.module).points
        self._record(job, failure_results(NOT_GRADED, points).to_json(), "error")
        print(f"portal job {job.id} ({job.module}): {why}", file=sys.stderr)

    def _watch(self) -> None:
        """Every few seconds: the window follows the workers; stop if what is in flight has had no
        worker able to run it for STALL seconds (workers come and go)."""
        if time.monotonic() - self.checked < 5:
            return
        self.checked, self.room = time.monotonic(), window(self.client)
        workers = self.client.scheduler_info(n_workers=-1)["workers"]
        stuck = {
            j.module
            for j in self.inflight.values()
            if not able(workers, needs(self.layout.course.module(j.module))[0])
        }
        if not stuck:
            self.last_able = self.checked
        elif self.checked - self.last_able > self.STALL:
            raise BatchError(
                f"no worker of {self.cluster} able to grade {', '.join(sorted(stuck))} has been connected "
                f"for {self.STALL:.0f} s; what is graded is kept, the rest is queued again"
            )

    def step(self) -> int:
        for future in [f for f in self.inflight if f.done()]:
            self._settle(future, self.inflight.pop(future))
        while len(self.inflight) < self.room and (job := store.claim(self.db, os.getpid())) is not None:
            self._send(job)
        self._watch()
        return len(self.inflight)

    def run(self, *, until_empty: bool, stop: threading.Event | None = None, poll: float = 0.1) -> None:
        from distributed import wait

        with connect(self.cluster, self.layout) as client:
            self.client, self.room = client, window(client)
            try:
                self.recover()
                while not (stop and stop.is_set()):
                    busy = self.step()
                    if until_empty and not busy:
                        return
                    if not self.inflight:
                        time.sleep(poll)
                        continue
                    try:  # sleeps until a result arrives, or `poll` passes
                        wait(list(self.inflight), timeout=poll, return_when="FIRST_COMPLETED")
                    except TimeoutError:
                        pass
            finally:
                try:
                    client.cancel(list(self.inflight))
                finally:
                    self.inflight.clear()
                    self.recover()  # what was sent and not recorded is queued again now


def drain(layout: Layout, db_path: Path, jobs: int = 1) -> None:
    """Grade everything queued now, then return (tests and scripts; production runs `serve`'s grader)."""
    grader = QueueGrader(layout, db_path, jobs)
    try:
        grader.run(until_empty=True)
    finally:
        grader.close()
