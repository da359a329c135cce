"""How long grading each module's reference takes, next to the module's wall limit and Gradescope's
10-minute default autograder timeout.

    .venv/bin/python benchmarks/bench_modules.py [MODULE ...]

Grades the reference of each module (default: all), one at a time, on the module's first seed, in
a fresh process as `course grade` does, three times in the same run (on copies of the course whose
course.yaml sets `limits.zygote`): without the pre-imported worker and with it (the default), each
with the reference's answers not cached (the module's cache emptied: a fresh host, or an image built
with COURSE_WARM_REFERENCE=0), then with it again and the answers that grading cached (as setup.sh
leaves them in an image). Prints, for the first, the grading's wall time, its score, the
module's `wall` limit and how many times the measured time fits in it (the headroom a slower or
busier machine has), and the load average: shared cores slow training several times. Then, for
each, where the wall time went: the student's compute (inside their calls), worker start-up (spawn
or fork until the student's files are imported), the grader's own evaluation (the tests' time and
their collection, where the hidden tests import what they evaluate with, minus the rest), the
reference's compute and the remainder (wall minus all of them: the framework's overhead), and what
share of the wall is neither the student's compute nor the grader's (start, reference, remainder).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.layout import Layout  # noqa: E402
from autograder.validate import grade_in_subprocess, reference_submission  # noqa: E402

GRADESCOPE_DEFAULT_TIMEOUT = 600  # seconds


def zygote_course(tmp: Path, on: bool) -> Layout:
    """This course with `defaults.limits.zygote` set: every entry linked, course.yaml rewritten."""
    root = tmp / f"zygote-{'on' if on else 'off'}-course"
    root.mkdir()
    for entry in ROOT.iterdir():
        if entry.name != "course.yaml":
            (root / entry.name).symlink_to(entry)
    config = yaml.safe_load((ROOT / "course.yaml").read_text())
    config.setdefault("defaults", {}).setdefault("limits", {})["zygote"] = on
    (root / "course.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return Layout(root)


def split(results: dict, wall: float) -> list[float]:
    """wall, student, worker start, grader's evaluation, reference, remainder (seconds)."""
    extra = results["extra_data"]
    student, start = extra.get("student_seconds", 0.0), extra.get("worker_start_seconds", 0.0)
    reference = extra.get("reference_seconds", 0.0)
    tests = sum(t.get("extra_data", {}).get("seconds", 0.0) for t in results["tests"])
    # Collection is the hidden tests' imports: what the grader evaluates with (torch, evaluate).
    grader = max(tests + extra.get("collect_seconds", 0.0) - student - start - reference, 0.0)
    return [wall, student, start, grader, reference, wall - student - start - grader - reference]


def main() -> None:
    layout = Layout.discover(ROOT)
    console = Console(width=max(shutil.get_terminal_size().columns, 150))
    modules = sys.argv[1:] or [m.id for m in layout.course.modules]
    gradings = Table(title="reference grading per module (first seed, zygote off, reference not cached)")
    for col in ("module", "score", "grading s", "wall limit s", "headroom", "fits 10 min", "load"):
        gradings.add_column(col, justify="right")
    splits = Table(title="where a reference grading's wall time goes (s): zygote, reference cache")
    for col in (
        "module",
        "zygote, cache",
        "wall",
        "student",
        "worker start",
        "grader eval",
        "reference",
        "remainder",
        "rest/wall",
        "all but student+grader",
    ):
        splits.add_column(col, justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        off, on = zygote_course(Path(tmp), False), zygote_course(Path(tmp), True)
        # The cache is keyed by the grader version, course.yaml included: each copy has its own.
        runs = {"off, cold": off, "on, cold": on, "on, warm": on}
        for module_id in modules:
            rows, graded = {}, {}
            for mode, course in runs.items():
                work = Path(tmp) / f"{module_id}-{mode.replace(', ', '-')}"
                seed = course.course.module(module_id).seeds[0]
                submission = reference_submission(layout, module_id, work / "reference")
                if mode.endswith("cold"):  # no cached reference answers
                    shutil.rmtree(layout.reference_cache / module_id, ignore_errors=True)
                started = time.perf_counter()
                results = grade_in_subprocess(course, module_id, submission, work / "out", seed)
                row = split(results, time.perf_counter() - started)
                shutil.rmtree(work, ignore_errors=True)
                rows[mode], graded[mode] = row, results
                used = results["extra_data"].get("sandbox_details", {}).get("zygote", "-")
                score = f"{results['score']:g}"
                console.print(
                    f"{module_id} zygote {mode} ({used}), {score} points: "
                    + ", ".join(f"{v:.2f}" for v in row)
                )
                others = (row[2] + row[4] + row[5]) / row[0]  # worker start, reference and remainder
                splits.add_row(
                    module_id, mode, *(f"{v:.2f}" for v in row), f"{row[5] / row[0]:.0%}", f"{others:.0%}"
                )
            row, results = rows["off, cold"], graded["off, cold"]
            limits = layout.course.limits_for(module_id)
            total = sum(t["max_score"] for t in results["tests"])
            gradings.add_row(
                module_id,
                f"{results['score']:g}/{total:g}",
                f"{row[0]:.0f}",
                f"{limits.wall:.0f}",
                f"{limits.wall / row[0]:.1f}x",
                "yes" if row[0] < GRADESCOPE_DEFAULT_TIMEOUT else "NO",
                f"{os.getloadavg()[0]:.1f}",
            )
            if rows["on, cold"][2] > 0:
                ratio = rows["off, cold"][2] / rows["on, cold"][2]
                console.print(f"{module_id}: worker start off / on = {ratio:.1f}x")
    console.print(gradings)
    console.print(splits)


if __name__ == "__main__":
    main()
