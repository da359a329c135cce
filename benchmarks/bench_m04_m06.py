"""Modules 4-6 (generation, LoRA, quantization): what grading the reference costs, and the figures
the graders measure. Never run by the test suite.

    .venv/bin/python benchmarks/bench_m04_m06.py [m04-generation m05-lora m06-quantization]

Grades each module's reference once, as `course grade` does for a student, and prints the wall
time, the slowest tests, the worker's peak memory and the measured metrics (for m05: the trainable
ratio, the OS-measured peaks of the memory comparison's workers, and each training's time, peak,
hidden-ticket accuracy and saved bytes: LoRA, QLoRA and full fine-tuning; for m06: footprints,
perplexities, speed).
The machine's load average is printed before and after: shared cores slow everything several times.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
MODULES = ["m04-generation", "m05-lora", "m06-quantization"]


def grade_reference(module: str, out: Path) -> tuple[dict, float]:
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder.cli",
            "grade",
            module,
            str(ROOT / "reference" / module),
            "--out",
            str(out),
            "--quiet",
        ],
        cwd=ROOT,
        check=False,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "COURSE_ROOT": str(ROOT)},
    )
    return json.loads((out / "results.json").read_text()), time.perf_counter() - started


if __name__ == "__main__":
    console = Console()
    table = Table(
        "module",
        "score",
        "wall s",
        "slowest tests (s)",
        "worker peak MiB",
        "load before/after",
        title="reference gradings",
    )
    for module in sys.argv[1:] or MODULES:
        load_before = os.getloadavg()[0]
        with tempfile.TemporaryDirectory() as tmp:
            results, seconds = grade_reference(module, Path(tmp))
        extra = results["extra_data"]
        slowest = sorted(results["tests"], key=lambda t: -t["extra_data"].get("seconds", 0))[:3]
        table.add_row(
            module,
            f"{results['score']:g}/{sum(t['max_score'] for t in results['tests']):g}",
            f"{seconds:.0f}",
            ", ".join(
                f"{t['extra_data']['id'].removeprefix('test_')} {t['extra_data'].get('seconds', 0):.0f}"
                for t in slowest
            ),
            f"{extra.get('worker_peak_memory_bytes', 0) / 2**20:.0f}",
            f"{load_before:.1f} / {os.getloadavg()[0]:.1f}",
        )
        console.print(module, extra.get("metrics", {}))
    console.print(table)
