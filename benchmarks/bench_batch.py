"""What batch grading costs: per-submission overhead beyond the student's compute, and --jobs 1 vs 2.

    .venv/bin/python benchmarks/bench_batch.py [--repeat 3] [--work 0.2]

Uses the tests' mini course (no models). Per submission: the wall time of one `course grade`
process (as a batch starts it) on a submission whose functions do no work, minus whatever student
and reference compute the worker still timed: the framework's overhead (Python start-up, imports,
sandbox and worker start, pytest, writing results). Then 8 submissions that burn `--work` CPU
seconds in each call of add() are graded as a batch with --jobs 1 and --jobs 2, each into a fresh
output folder and gradebook. The machine's load average is printed: shared cores skew both figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BURN = """
import time


def _burn(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass

"""


def burning_student(work: float, bug: str = "") -> str:
    """The tests' full-mark submission, burning `work` CPU seconds in each add(), with `bug` appended to
    its sum."""
    from tests.conftest import MINI_GOOD

    return BURN + MINI_GOOD.replace("    return a + b", f"    _burn({work})\n    return a + b{bug}")


def course(*args: str, root: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "autograder.cli", *args],
        cwd=ROOT,
        check=False,
        env={**os.environ, "COURSE_ROOT": str(root)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=float, default=0.2, help="CPU seconds per call of add()")
    args = parser.parse_args()
    from tests.conftest import write_mini_course

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        layout = write_mini_course(tmp / "course")
        subs = tmp / "subs"
        for i in range(8):
            (subs / f"student{i}").mkdir(parents=True)
            bug = " + 1" if i % 4 == 3 else ""  # two of the eight get add() wrong
            (subs / f"student{i}" / "mini.py").write_text(burning_student(args.work, bug))

        (tmp / "idle").mkdir()
        (tmp / "idle" / "mini.py").write_text(burning_student(0))
        single = []
        for n in range(args.repeat):
            out = tmp / f"single{n}"
            wall = course("grade", "mini", str(tmp / "idle"), "--out", str(out), "--quiet", root=layout.root)
            extra = json.loads((out / "results.json").read_text())["extra_data"]
            student = extra.get("student_seconds", 0.0) + extra.get("student_import_seconds", 0.0)
            single.append(
                (
                    wall,
                    student,
                    extra.get("reference_seconds", 0.0),
                    extra.get("wall_time", 0.0),
                    extra.get("sandbox", "?"),
                )
            )

        batch = {}
        for jobs in (1, 2):
            out = tmp / f"batch-j{jobs}"
            batch[jobs] = course(
                "grade", "mini", str(subs), "--out", str(out), "--jobs", str(jobs), root=layout.root
            )
            graded = len(list(out.glob("*/results.json")))
            assert graded == 8, f"--jobs {jobs} graded {graded} of 8 submissions"

    wall = statistics.median(s[0] for s in single)
    student = statistics.median(s[1] for s in single)
    reference = statistics.median(s[2] for s in single)
    in_process = statistics.median(s[3] for s in single)
    table = Table(
        title=f"batch grading, mini course, sandbox {single[0][4]}, load {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores (median of {args.repeat})"
    )
    table.add_column("figure")
    table.add_column("seconds", justify="right")
    table.add_row("one `course grade` process on a submission doing no work, wall", f"{wall:.2f}")
    table.add_row(
        "  Python start-up and imports of that process (wall - grading)", f"{wall - in_process:.2f}"
    )
    table.add_row(
        "  grading inside it: intake, sandbox, worker, pytest (extra_data.wall_time)", f"{in_process:.2f}"
    )
    table.add_row("  student compute (import + calls, timed by the worker)", f"{student:.2f}")
    table.add_row("  reference compute", f"{reference:.2f}")
    table.add_row(
        "[bold]framework overhead per submission[/] (wall - student - reference)",
        f"[bold]{wall - student - reference:.2f}[/]",
    )
    table.add_row(f"batch of 8 ({3 * args.work:.1f} CPU s of student work each), --jobs 1", f"{batch[1]:.2f}")
    table.add_row("same batch, --jobs 2", f"{batch[2]:.2f}")
    table.add_row("[bold]speed-up --jobs 2 over --jobs 1[/]", f"[bold]{batch[1] / batch[2]:.2f}x[/]")
    Console().print(table)


if __name__ == "__main__":
    main()
