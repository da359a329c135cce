"""`course portal grader`: drains the portal's queue with batch grading's per-submission grading.

Each job is one `course grade` process (batch's `Grading`: same command, environment, deadline and
verdict), so student code never runs in this process nor in the web server. A job is claimed in one
transaction; its grading is recorded in the gradebook with the job's id in extra_data.portal_job,
then marked done. On start, a job a dead grader left running is finished from the gradebook if its
grading was recorded, else queued again: a killed grader loses nothing and grades nothing twice.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime
from pathlib import Path

import psutil

from autograder.batch import Grading, sweep_orphans
from autograder.grade.results import write_json_atomic
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
        course = self.layout.course
        module = course.module(job.module)
        results, status = grading.verdict(grading.stop(), module.points)
        extra = results.setdefault("extra_data", {})
        extra.update(content_hash=job.content_hash, student=job.student, portal_job=job.id)
        version = grader_version(self.layout, job.module, "hidden")
        extra.setdefault("grader_version", version)
        due = effective_due(module.due, store.extension(self.db, job.student, job.module))
        lateness = assess(course.late_for(job.module), due, datetime.fromisoformat(job.submitted_at))
        apply_to_results(results, lateness)
        write_json_atomic(grading.dest / "results.json", results)
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


def drain(layout: Layout, db_path: Path, jobs: int = 1) -> None:
    """Grade everything queued now, then return (tests and scripts; production runs `serve`'s grader)."""
    grader = QueueGrader(layout, db_path, jobs)
    try:
        grader.run(until_empty=True)
    finally:
        grader.close()
