"""`course validate`: prove each module's graders right before students see them.

For every module: the reference earns full marks on every seed, the hidden tests' points add up
to the module's points, the untouched starter earns 0 with no grader error, each plausible mistake
in mistakes.yaml fails the tests it names, the kept `course mutate` results reach the kill rate
course.yaml asks, and the release holds nothing hidden.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from autograder.grade.jsonhint import MESSAGE as LIST_VS_TUPLE
from autograder.grade.results import extra_credit_possible
from autograder.grade.submissions import grade_in_subprocess, reference_submission, write_submission
from autograder.layout import Layout
from autograder.mutate.report import fingerprint, load_equivalents, load_report, stale_equivalents, tally
from autograder.mutate.run import stage_seconds
from autograder.quiz.checks import quiz_checks
from autograder.release.build import release_checks, starter_sources
from autograder.yamlconf import ConfigError, load_model


class Mistake(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    file: str | None = None
    append: str  # code appended to the reference file; later definitions win
    fails: list[str] = Field(min_length=1)  # test functions this mistake must fail


class Mistakes(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mistakes: list[Mistake] = []


@dataclass
class Check:
    module: str
    name: str
    ok: bool
    detail: str
    seconds: float = 0.0


def load_mistakes(layout: Layout, module_id: str) -> list[Mistake]:
    path = layout.mistakes_file(module_id)
    return load_model(path, Mistakes, docs="docs/authoring.md").mistakes if path.exists() else []


def starter_submission(layout: Layout, module_id: str, dest: Path) -> Path:
    module = layout.course.module(module_id)
    starters = starter_sources(layout, module)
    return write_submission(dest, {f: starters[f] for f in module.files})


def mistake_submission(layout: Layout, module_id: str, mistake: Mistake, dest: Path) -> Path:
    module = layout.course.module(module_id)
    files = {f: (layout.reference_dir(module_id) / f).read_bytes() for f in module.files}
    target = mistake.file or module.files[0]
    files[target] += (
        b"\n\n# --- plausible mistake: " + mistake.name.encode() + b"\n" + mistake.append.encode()
    )
    return write_submission(dest, files)


def _grader_errors(results: dict[str, Any]) -> int:
    return int(results.get("extra_data", {}).get("grader_errors", 0))


def _failing(results: dict[str, Any]) -> set[str]:
    return {t["extra_data"].get("id", t["name"]) for t in results["tests"] if t["status"] != "passed"}


def _check_reference(module_id: str, seed: int, res: dict[str, Any]) -> Check:
    """Full marks: every test passes, extra credit included."""
    total = sum(t["max_score"] for t in res["tests"])
    extra = extra_credit_possible(res["tests"])
    failing = sorted(_failing(res))
    ok = bool(res["tests"]) and not failing and res["score"] == total + extra and not _grader_errors(res)
    tuples = sorted(
        {t["extra_data"].get("id", t["name"]) for t in res["tests"] if t["extra_data"].get("list_vs_tuple")}
    )
    detail = (
        f"{res['score']:g}/{total:g}"
        + (f" (+{extra:g} extra credit possible)" if extra else "")
        + (f"; failing: {', '.join(failing)}" if failing else "")
        + (f"; {', '.join(tuples)} {LIST_VS_TUPLE}" if tuples else "")
    )
    return Check(module_id, f"reference, seed {seed}", ok, detail, res.get("execution_time", 0.0))


def _check_points(module_id: str, points: float, res: dict[str, Any]) -> Check:
    """The hidden tests' points (each collected test's `points` marker; extra credit apart) are the
    module's points in course.yaml: otherwise Gradescope's total and the course's disagree."""
    total = sum(t["max_score"] for t in res["tests"])
    ok = bool(res["tests"]) and abs(total - points) < 1e-9
    detail = f"hidden tests give {total:g} points, course.yaml says {points:g}"
    return Check(module_id, "hidden points = course.yaml points", ok, detail)


def check_mutants(layout: Layout, module_id: str) -> Check | None:
    """Every function's kill rate in the module's kept `course mutate` results (None if it keeps
    none) against course.yaml's threshold, over non-equivalent mutants actually graded."""
    path = layout.mutation_report(module_id)
    if not path.exists():
        return None
    name = "mutants killed"
    try:
        report = load_report(path)
        equivalents = load_equivalents(layout, module_id)
    except ConfigError as exc:
        return Check(module_id, name, False, str(exc))
    threshold = layout.course.kill_rate_for(module_id)
    below, killed, graded = [], 0, 0
    for function, result in report.functions.items():
        t = tally(result, equivalents)
        killed, graded = killed + t.killed, graded + t.graded
        if t.rate is not None and t.rate < threshold:
            below.append(f"{function} {t.killed}/{t.graded}")
    detail = (
        f"{killed}/{graded} non-equivalent mutants killed; at least {threshold:.0%} of each function's needed"
    )
    if below:
        detail += f"; below: {', '.join(below)} (see {path.name} or run course mutate {module_id})"
    if not report.complete:
        detail += "; from an unfinished run"
    if report.fingerprint != fingerprint(layout, module_id):
        detail += "; measured on an earlier version of the hidden tests or reference"
    if stale := stale_equivalents(report, equivalents):
        detail += f"; equivalent_mutants.yaml lists {', '.join(stale)}"
    return Check(module_id, name, not below, detail)


def _check_starter(module_id: str, res: dict[str, Any]) -> Check:
    errors = _grader_errors(res)
    ok = res["score"] == 0 and not errors and bool(res["tests"])
    return Check(
        module_id,
        "untouched starter",
        ok,
        f"{res['score']:g} points, {errors} grader errors",
        res.get("execution_time", 0.0),
    )


def _check_mistake(module_id: str, mistake: Mistake, res: dict[str, Any]) -> Check:
    missed = sorted(set(mistake.fails) - _failing(res))
    unknown = sorted(set(mistake.fails) - {t["extra_data"].get("id") for t in res["tests"]})
    ok = not missed and not unknown and not _grader_errors(res)
    detail = (
        f"no test named {', '.join(unknown)}"
        if unknown
        else f"not caught by {', '.join(missed)}"
        if missed
        else "caught"
    )
    return Check(module_id, f"mistake: {mistake.name}", ok, detail, res.get("execution_time", 0.0))


@dataclass
class Task:
    judge: Callable[[dict[str, Any]], Check | list[Check]]  # turns the grading's results into checks
    grade: Callable[[], dict[str, Any]]  # runs the grading (its results.json)
    long: bool = False  # a reference: it trains, so it starts first
    seconds: float = 0.0  # what the grading should take (the last `course mutate`'s timings; 0: unknown)


def grading_estimate(layout: Layout, module_id: str) -> Callable[[list[str] | None], float]:
    """Seconds a grading of the module running only `tests` (None: all) should take, from the test
    costs its last `course mutate` report measured (a shared training counted once); 0 without one."""
    try:
        report = load_report(layout.mutation_report(module_id))
    except ConfigError:
        return lambda tests: 0.0

    def estimate(tests: list[str] | None) -> float:
        known = [t for t in (report.tests if tests is None else tests) if t in report.tests]
        return report.grading_overhead + stage_seconds(known, report.tests)

    return estimate


def module_tasks(layout: Layout, module_id: str, work: Path, seeds: list[int] | None = None) -> list[Task]:
    """The gradings that prove one module: the reference (each seed, or `seeds`), the starter and
    each mistake."""
    module = layout.course.module(module_id)
    ref = reference_submission(layout, module_id, work / "reference")
    estimate = grading_estimate(layout, module_id)
    tasks: list[Task] = []
    for i, seed in enumerate(seeds or module.seeds):
        tasks.append(
            Task(
                partial(_judge_reference, module_id, seed, module.points if i == 0 else None),
                partial(grade_in_subprocess, layout, module_id, ref, work / f"ref-{seed}", seed),
                long=True,
                seconds=estimate(None),
            )
        )
    starter = starter_submission(layout, module_id, work / "starter")
    tasks.append(
        Task(
            partial(_check_starter, module_id),
            partial(grade_in_subprocess, layout, module_id, starter, work / "starter-out"),
        )
    )
    for i, mistake in enumerate(load_mistakes(layout, module_id)):
        sub = mistake_submission(layout, module_id, mistake, work / f"m{i}")
        tasks.append(
            Task(
                partial(_check_mistake, module_id, mistake),
                partial(grade_in_subprocess, layout, module_id, sub, work / f"m{i}-out", only=mistake.fails),
                seconds=estimate(mistake.fails),
            )
        )
    return tasks


def _judge_reference(module_id: str, seed: int, points: float | None, res: dict[str, Any]) -> list[Check]:
    """The reference's marks; on the first seed also whether the points add up."""
    checks = [_check_reference(module_id, seed, res)]
    return checks + ([_check_points(module_id, points, res)] if points is not None else [])


def _as_list(checks: Check | list[Check]) -> list[Check]:
    return checks if isinstance(checks, list) else [checks]


def run_tasks(batches: list[list[Task]], jobs: int) -> list[list[Check]]:
    """Run every batch's gradings in one pool, `jobs` at a time: the references of every batch first,
    then the rest, each group the dearest first, so that no core idles at the end behind one last
    training. Checks come back batch by batch, in order."""
    tasks = sorted(
        (task for batch in batches for task in batch), key=lambda task: (not task.long, -task.seconds)
    )
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {id(task): pool.submit(task.grade) for task in tasks}
        return [
            [check for task in batch for check in _as_list(task.judge(futures[id(task)].result()))]
            for batch in batches
        ]


def validate_modules(
    layout: Layout, module_ids: list[str], work: Path, jobs: int = 2, first_seed_only: bool = False
) -> dict[str, list[Check]]:
    """Grade each module's reference (every seed, or the first), starter and mistakes, `jobs` at a
    time, all modules' gradings sharing one pool."""
    batches = [
        module_tasks(layout, m, work / m, layout.course.module(m).seeds[:1] if first_seed_only else None)
        for m in module_ids
    ]
    checks = dict(zip(module_ids, run_tasks(batches, jobs), strict=True))
    for module_id in module_ids:
        if (mutants := check_mutants(layout, module_id)) is not None:
            checks[module_id].append(mutants)
    return checks


def validate(layout: Layout, module_ids: list[str] | None = None, jobs: int = 2) -> list[Check]:
    ids = module_ids or [m.id for m in layout.course.modules]
    checks: list[Check] = []
    with tempfile.TemporaryDirectory(prefix="course-validate-") as tmp:
        checks.extend(
            Check(", ".join(ids), *row) for row in release_checks(layout, Path(tmp) / "release", ids)
        )
        for module_id, module_checks in validate_modules(layout, ids, Path(tmp), jobs).items():
            checks.extend(module_checks)
            checks.extend(Check(module_id, *row) for row in quiz_checks(layout, module_id))
    return checks
