"""`course validate`: prove each module's graders right before students see them.

For every module: the reference earns full marks on every seed, the untouched starter earns 0
with no grader error, each plausible mistake in mistakes.yaml fails the tests it names, and the
release holds nothing hidden.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from autograder.grade.results import extra_credit_possible
from autograder.layout import Layout
from autograder.quiz.checks import quiz_checks
from autograder.release.build import build_release, starter_sources
from autograder.yamlconf import load_model


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
    return load_model(path, Mistakes).mistakes if path.exists() else []


def grade_in_subprocess(
    layout: Layout,
    module_id: str,
    submission: Path,
    out: Path,
    seed: int | None = None,
    suite: str = "hidden",
    only: list[str] | None = None,
) -> dict:
    """Grade in a fresh process, as a TA's batch would: one grading cannot disturb the next."""
    cmd = [
        sys.executable,
        "-m",
        "autograder.cli",
        "grade",
        module_id,
        str(submission),
        "--out",
        str(out),
        "--suite",
        suite,
        "--quiet",
    ]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    for name in only or []:
        cmd += ["--only", name]
    subprocess.run(cmd, cwd=layout.root, env=_env(layout), check=False, stdout=subprocess.DEVNULL)
    return json.loads((out / "results.json").read_text())


def _env(layout: Layout) -> dict[str, str]:
    # Gradings run side by side: one OpenMP thread each keeps the trusted processes from thrashing.
    return {**os.environ, "COURSE_ROOT": str(layout.root), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def write_submission(dest: Path, files: dict[str, bytes]) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (dest / name).write_bytes(content)
    return dest


def reference_submission(layout: Layout, module_id: str, dest: Path) -> Path:
    module = layout.course.module(module_id)
    return write_submission(
        dest, {f: (layout.reference_dir(module_id) / f).read_bytes() for f in module.files}
    )


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


def _grader_errors(results: dict) -> int:
    return int(results.get("extra_data", {}).get("grader_errors", 0))


def _failing(results: dict) -> set[str]:
    return {t["extra_data"].get("id", t["name"]) for t in results["tests"] if t["status"] != "passed"}


def _check_reference(module_id: str, seed: int, res: dict) -> Check:
    """Full marks: every test passes, extra credit included."""
    total = sum(t["max_score"] for t in res["tests"])
    extra = extra_credit_possible(res["tests"])
    failing = sorted(_failing(res))
    ok = bool(res["tests"]) and not failing and res["score"] == total + extra and not _grader_errors(res)
    detail = (
        f"{res['score']:g}/{total:g}"
        + (f" (+{extra:g} extra credit possible)" if extra else "")
        + (f"; failing: {', '.join(failing)}" if failing else "")
    )
    return Check(module_id, f"reference, seed {seed}", ok, detail, res.get("execution_time", 0.0))


def _check_starter(module_id: str, res: dict) -> Check:
    errors = _grader_errors(res)
    ok = res["score"] == 0 and not errors and bool(res["tests"])
    return Check(
        module_id,
        "untouched starter",
        ok,
        f"{res['score']:g} points, {errors} grader errors",
        res.get("execution_time", 0.0),
    )


def _check_mistake(module_id: str, mistake: Mistake, res: dict) -> Check:
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
    judge: Callable[[dict], Check]  # turns the grading's results into a check
    grade: Callable[[], dict]  # runs the grading
    long: bool = False  # a reference: it trains, so it starts first


def module_tasks(layout: Layout, module_id: str, work: Path, seeds: list[int] | None = None) -> list[Task]:
    """The gradings that prove one module: the reference (each seed, or `seeds`), the starter and
    each mistake."""
    module = layout.course.module(module_id)
    ref = reference_submission(layout, module_id, work / "reference")
    tasks: list[Task] = []
    for seed in seeds or module.seeds:
        tasks.append(
            Task(
                partial(_check_reference, module_id, seed),
                partial(grade_in_subprocess, layout, module_id, ref, work / f"ref-{seed}", seed),
                long=True,
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
            )
        )
    return tasks


def run_tasks(batches: list[list[Task]], jobs: int) -> list[list[Check]]:
    """Run every batch's gradings in one pool, `jobs` at a time, the long ones of every batch first,
    so that no core idles behind one module's reference. Checks come back batch by batch, in order."""
    tasks = sorted((task for batch in batches for task in batch), key=lambda task: not task.long)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {id(task): pool.submit(task.grade) for task in tasks}
        return [[task.judge(futures[id(task)].result()) for task in batch] for batch in batches]


def validate_modules(
    layout: Layout, module_ids: list[str], work: Path, jobs: int = 2, first_seed_only: bool = False
) -> dict[str, list[Check]]:
    """Grade each module's reference (every seed, or the first), starter and mistakes, `jobs` at a
    time, all modules' gradings sharing one pool."""
    batches = [
        module_tasks(layout, m, work / m, layout.course.module(m).seeds[:1] if first_seed_only else None)
        for m in module_ids
    ]
    return dict(zip(module_ids, run_tasks(batches, jobs), strict=True))


def validate(layout: Layout, module_ids: list[str] | None = None, jobs: int = 2) -> list[Check]:
    ids = module_ids or [m.id for m in layout.course.modules]
    checks: list[Check] = []
    with tempfile.TemporaryDirectory(prefix="course-validate-") as tmp:
        try:
            build_release(layout, Path(tmp) / "release", ids)
            checks.append(Check(", ".join(ids), "release holds nothing hidden", True, "built and scanned"))
        except Exception as exc:  # noqa: BLE001 - reported in the table
            checks.append(Check(", ".join(ids), "release holds nothing hidden", False, str(exc)))
        for module_id, module_checks in validate_modules(layout, ids, Path(tmp), jobs).items():
            checks.extend(module_checks)
            checks.extend(Check(module_id, *row) for row in quiz_checks(layout, module_id))
    return checks
