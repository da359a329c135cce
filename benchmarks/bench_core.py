"""How long grading module 1's reference takes, and where the time goes; how long a release takes.

    .venv/bin/python benchmarks/bench_core.py [--repeat 3]

Splits one grading into: Python imports of the trusted process, worker start (spawn + the
framework's imports, measured with a no-op module), the student's own compute (the seconds
inside student calls and the student's import, as the worker times them), the reference's
compute in the trusted process, and what is left: the framework's overhead (which includes loading
the models and tokenizers handed to both sides).
"""

from __future__ import annotations

import argparse
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


def seconds_of(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - started


def worker_start_seconds(layout) -> float:
    """Spawn a worker on a module with one trivial function and call it once."""
    from autograder.grade.runner import grade

    with tempfile.TemporaryDirectory() as tmp:
        sub = Path(tmp) / "sub"
        sub.mkdir()
        (sub / "tokenizers_lab.py").write_text("def encode(tokenizer, text):\n    return []\n")
        started = time.perf_counter()
        grade(layout, "m01-tokenizers", sub, Path(tmp) / "out", only=["test_encode_adds_special_tokens"])
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from autograder.grade.runner import grade
    from autograder.layout import Layout
    from autograder.release.build import build_release

    layout = Layout(ROOT)
    python = seconds_of("pass")
    imports = seconds_of("import autograder.grade.runner, pytest, transformers, torch") - python
    rows = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            results = grade(layout, "m01-tokenizers", layout.reference_dir("m01-tokenizers"), Path(tmp))
            wall = time.perf_counter() - started
        extra = results.extra_data
        student = extra.get("student_seconds", 0.0) + extra.get("student_import_seconds", 0.0)
        reference = extra.get("reference_seconds", 0.0)
        rows.append((wall, student, reference, results.score, results.max_score))
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        build_release(layout, Path(tmp))
        release = time.perf_counter() - started

    wall = statistics.median(r[0] for r in rows)
    student = statistics.median(r[1] for r in rows)
    reference = statistics.median(r[2] for r in rows)
    table = Table(
        title=f"grading m01-tokenizers' reference (median of {args.repeat}; "
        f"score {rows[0][3]:g}/{rows[0][4]:g})"
    )
    table.add_column("part")
    table.add_column("seconds", justify="right")
    table.add_row("Python start-up", f"{python:.2f}")
    table.add_row("imports of the trusted process (torch, transformers, pytest)", f"{imports:.2f}")
    table.add_row(
        "one worker start + one trivial call (whole job, fresh process)",
        f"{worker_start_seconds(layout):.2f}",
    )
    table.add_row("student compute (import + inside calls, timed by the worker)", f"{student:.2f}")
    table.add_row("reference compute (trusted process)", f"{reference:.2f}")
    table.add_row("framework overhead (wall - student - reference)", f"{wall - student - reference:.2f}")
    table.add_row("[bold]grading wall time[/]", f"[bold]{wall:.2f}[/]")
    table.add_row("course release (all modules)", f"{release:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
