"""How long grading each module's reference takes, next to the module's wall limit and Gradescope's
10-minute default autograder timeout.

    .venv/bin/python benchmarks/bench_modules.py [MODULE ...]

Grades the reference of each module (default: all), one at a time, on the module's first seed, in
a fresh process as `course grade` does. Prints the grading's wall time, its score, the module's
`wall` limit and how many times the measured time fits in it (the headroom a slower or busier
machine has), and the load average: shared cores slow training several times.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.layout import Layout  # noqa: E402
from autograder.validate import grade_in_subprocess, reference_submission  # noqa: E402

GRADESCOPE_DEFAULT_TIMEOUT = 600  # seconds


def main() -> None:
    layout = Layout.discover(ROOT)
    console = Console()
    modules = sys.argv[1:] or [m.id for m in layout.course.modules]
    table = Table(title="reference grading per module (first seed)")
    for col in ("module", "score", "grading s", "wall limit s", "headroom", "fits 10 min", "load"):
        table.add_column(col, justify="right")
    for module_id in modules:
        module = layout.course.module(module_id)
        limits = layout.course.limits_for(module_id)
        with tempfile.TemporaryDirectory() as tmp:
            submission = reference_submission(layout, module_id, Path(tmp) / "reference")
            started = time.perf_counter()
            results = grade_in_subprocess(layout, module_id, submission, Path(tmp) / "out", module.seeds[0])
            seconds = time.perf_counter() - started
        total = sum(t["max_score"] for t in results["tests"])
        table.add_row(
            module_id,
            f"{results['score']:g}/{total:g}",
            f"{seconds:.0f}",
            f"{limits.wall:.0f}",
            f"{limits.wall / seconds:.1f}x",
            "yes" if seconds < GRADESCOPE_DEFAULT_TIMEOUT else "NO",
            f"{os.getloadavg()[0]:.1f}",
        )
        console.print(f"{module_id}: {seconds:.0f} s, {results['score']:g}/{total:g}")
    console.print(table)


if __name__ == "__main__":
    main()
