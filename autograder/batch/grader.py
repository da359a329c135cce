"""Grading a batch: each submission by its own `course grade` subprocess, so a crash, a timeout or a
memory blow-up in one never touches another; the batch kills every process a grading leaves
behind. A finished grading is committed to the gradebook at once, so a killed batch loses nothing
finished and the next run grades only what is missing or changed.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console, JustifyMethod
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from autograder.batch import Submission, content_hash, submitted_at
from autograder.feedback import (
    instructor_report,
    render_student_html,
    render_student_markdown,
    student_feedback,
)
from autograder.grade.results import failure_results, read_results, write_json_atomic
from autograder.grade.runner import HIDE_FROM_WORKER, Suite, grader_version
from autograder.grade.submissions import grade_command
from autograder.gradebook import Gradebook
from autograder.gradebook.late import Lateness, apply_to_results, assess, effective_due
from autograder.layout import Layout
from autograder.sandbox.kill import die_with_parent, kill_tree, reap_orphans

STARTUP_ALLOWANCE = 120.0  # seconds a grading process may take beyond the module's wall limit


@dataclass
class Outcome:
    student: str
    status: str  # graded | error | skipped (graded before, same content and graders)
    raw: float
    final: float
    max_score: float
    days_late: float
    seconds: float


# -- one grading ----------------------------------------------------------------------------------
class Grading:
    """One `course grade` process grading one submission into `dest`: the same command, environment
    and deadline wherever it runs (the local pool, or a Dask worker's machine)."""

    def __init__(
        self,
        root: Path,
        module_id: str,
        submission: Path,
        dest: Path,
        grade_args: list[str],
        hide: list[Path],
        wall: float,
        environ: Mapping[str, str] | None = None,  # default: ours
    ) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "results.json").unlink(missing_ok=True)  # what is read back must come from this grading
        self.dest, self.limit = dest, wall + STARTUP_ALLOWANCE
        with open(dest / "grade.log", "wb") as log:
            self.proc = subprocess.Popen(
                grade_command(module_id, submission.absolute(), dest.absolute(), *grade_args),
                cwd=root,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
                env={
                    **(os.environ if environ is None else environ),
                    "COURSE_ROOT": str(root),
                    # classmates' submissions and results stay out of this worker's reach
                    HIDE_FROM_WORKER: os.pathsep.join(str(p.resolve()) for p in hide),
                },
            )
        self.started = time.monotonic()
        self.timed_out = False

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    def done(self) -> bool:
        """Finished, or stopped now for going past its deadline."""
        if self.proc.poll() is not None:
            return True
        self.timed_out = self.seconds > self.limit
        return self.timed_out

    def stop(self) -> int:
        """Kill whatever the grading left behind (or all of it); its exit status."""
        kill_tree(self.proc.pid)
        return self.proc.wait()

    def verdict(self, code: int, points: float) -> tuple[dict[str, Any], str]:
        """The results this finished grading stands for, and its status."""
        return verdict(read_results(self.dest / "results.json"), code, self.timed_out, self.limit, points)


def verdict(
    results: dict[str, Any] | None, code: int, timed_out: bool, limit: float, points: float
) -> tuple[dict[str, Any], str]:
    """A grading's results and status: graded, or error when the grader itself failed (the results
    then say so, and a re-run grades it again)."""
    failed = results is None or bool(results.get("extra_data", {}).get("grader_failed"))
    status = "graded" if code == 0 and not failed else "error"
    why = f"took longer than {limit:.0f} s" if timed_out else f"stopped with exit status {code}"
    if results is None:
        results = failure_results(
            f"The autograder itself failed on this submission (it {why}). This is not "
            "your fault: your instructor has been told.",
            points,
        ).to_json()
    elif timed_out:  # keep the tests that finished; say why the rest did not run
        results["output"] = f"Grading was stopped: it {why}.\n{results.get('output', '')}".strip()
    return results, status


def sweep_orphans(keep: set[int]) -> None:
    """Kill and reap processes re-parented to us (daemons a grading left behind), but not `keep`."""
    for _ in range(5):
        orphans = [p for p in psutil.Process().children() if p.pid not in keep]
        if not orphans:
            return
        for proc in orphans:
            kill_tree(proc.pid)
            try:
                os.waitpid(proc.pid, 0)
            except ChildProcessError:
                pass


@dataclass
class Queued:
    """A submission to grade, with what the gradebook keys it by and its lateness."""

    sub: Submission
    content_hash: str
    lateness: Lateness


class BatchGrader:
    def __init__(
        self,
        layout: Layout,
        module_id: str,
        out: Path,
        gradebook: Gradebook,
        *,
        jobs: int = 1,
        times: dict[str, datetime] | None = None,
        extensions: dict[str, timedelta | datetime] | None = None,
        suite: Suite = "hidden",
        grade_args: list[str] | None = None,
        console: Console | None = None,
    ) -> None:
        self.layout, self.module_id, self.out, self.gradebook = layout, module_id, out, gradebook
        self.module = layout.course.module(module_id)
        self.policy = layout.course.late_for(module_id)
        self.limits = layout.course.limits_for(module_id)
        self.version = grader_version(layout, module_id, suite)
        self.jobs = max(1, jobs)
        self.times, self.extensions = times or {}, extensions or {}
        self.suite, self.grade_args = suite, ["--suite", suite, *(grade_args or [])]
        self.console = console or Console()
        self.outcomes: list[Outcome] = []

    def due(self, student: str) -> datetime | None:
        return effective_due(self.module.due, self.extensions.get(student))

    def run(self, submissions: list[Submission]) -> list[Outcome]:
        todo = []
        for sub in submissions:
            digest = content_hash(sub, self.module.files)
            lateness = assess(self.policy, self.due(sub.student), submitted_at(sub, self.times))
            done = self.gradebook.find(self.module_id, sub.student, digest, self.version)
            if done is None:
                todo.append(Queued(sub, digest, lateness))
            else:
                self._refresh(done, sub, lateness)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=self.console, auto_refresh=False, transient=False) as progress:
            task = progress.add_task(f"grading {self.module_id}", total=len(todo))
            self._grade(todo, lambda: progress.advance(task), progress.refresh)
        return self.outcomes

    def _grade(self, todo: list[Queued], advance: Callable[[], None], refresh: Callable[[], None]) -> None:
        """The local pool: at most `jobs` gradings at once, each recorded as soon as it finishes."""
        running: dict[Grading, Queued] = {}
        ours_before = {p.pid for p in psutil.Process().children()}
        reap_orphans(True)  # orphans of a grading come back to us to be killed
        try:
            while todo or running:
                while todo and len(running) < self.jobs:
                    job = todo.pop(0)
                    running[self._start(job.sub)] = job
                for grading in [g for g in running if g.done()]:
                    code = grading.stop()
                    job = running.pop(grading)
                    sweep_orphans(ours_before | {g.proc.pid for g in running})
                    results, status = grading.verdict(code, self.module.points)
                    self._finish(job.sub, job.content_hash, results, job.lateness, status, grading.seconds)
                    advance()
                refresh()
                time.sleep(0.05)
        finally:
            for grading in running:
                grading.stop()
            sweep_orphans(ours_before)
            reap_orphans(False)

    def _start(self, sub: Submission) -> Grading:
        return Grading(
            self.layout.root,
            self.module_id,
            sub.path,
            self.out / sub.student,
            self.grade_args,
            [sub.classmates or sub.path.parent, self.out],
            self.limits.wall,
        )

    def _finish(
        self,
        sub: Submission,
        digest: str,
        results: dict[str, Any],
        lateness: Lateness,
        status: str,
        seconds: float,
    ) -> None:
        extra = results.setdefault("extra_data", {})
        extra.update(content_hash=digest, student=sub.student)
        extra.setdefault("grader_version", self.version)
        apply_to_results(results, lateness)
        write_json_atomic(self.out / sub.student / "results.json", results)
        self.gradebook.record(self.module_id, sub.student, digest, self.version, results, lateness, status)
        self._write_feedback(sub.student, results)
        raw = results["extra_data"]["late"]["raw_score"]
        self.outcomes.append(
            Outcome(
                sub.student,
                status,
                raw,
                results["score"],
                sum(t["max_score"] for t in results["tests"]),
                lateness.days_late,
                seconds,
            )
        )

    def _refresh(self, submission_id: int, sub: Submission, lateness: Lateness) -> None:
        """Already graded: only the late policy (times, extensions) may have changed."""
        row = self.gradebook.row(submission_id)
        results = apply_to_results(row.results, lateness)
        if self.gradebook.is_latest(submission_id):
            self.gradebook.update_lateness(submission_id, lateness, results)
        else:  # the student went back to work graded before: that grading becomes the current one again
            self.gradebook.record(
                self.module_id,
                sub.student,
                row.results["extra_data"]["content_hash"],
                self.version,
                results,
                lateness,
                row.status,
            )
        write_json_atomic(self.out / sub.student / "results.json", results)
        self._write_feedback(sub.student, results)
        self.outcomes.append(
            Outcome(
                sub.student,
                "skipped",
                row.raw_score,
                results["score"],
                row.max_score,
                lateness.days_late,
                0.0,
            )
        )

    def _write_feedback(self, student: str, results: dict[str, Any]) -> None:
        fb = student_feedback(
            results, student=student, module=self.module_id, title=self.module.title, due=self.due(student)
        )
        (self.out / student / "feedback.html").write_text(render_student_html(fb), encoding="utf-8")
        (self.out / student / "feedback.md").write_text(render_student_markdown(fb), encoding="utf-8")


def summary_table(outcomes: list[Outcome], title: str) -> Table:
    table = Table(title=title)
    columns: list[tuple[str, JustifyMethod]] = [
        ("student", "left"),
        ("status", "left"),
        ("raw", "right"),
        ("final", "right"),
        ("late (days)", "right"),
        ("s", "right"),
    ]
    for col, justify in columns:
        table.add_column(col, justify=justify)
    colour = {"graded": "green", "skipped": "cyan", "error": "red"}
    for o in sorted(outcomes, key=lambda o: o.student):
        table.add_row(
            o.student,
            f"[{colour[o.status]}]{o.status}[/]",
            f"{o.raw:g}/{o.max_score:g}",
            f"{o.final:g}",
            f"{o.days_late:.2f}" if o.days_late else "",
            f"{o.seconds:.1f}",
        )
    return table


def write_report(layout: Layout, module_id: str, gradebook: Gradebook, path: Path) -> Path:
    module = layout.course.module(module_id)
    html = instructor_report(
        gradebook.latest(module_id), module=module_id, title=module.title, points=module.points
    )
    path.write_text(html, encoding="utf-8")
    return path
