"""What the sandbox costs: worker start per backend, next to `import torch`, and per submission.

    .venv/bin/python benchmarks/bench_sandbox.py [--repeat 5]

1. Launch only: `true` run plain, and inside each backend's wrapping (bwrap, uid, none).
2. Worker start: from spawning a worker to its first answer (Python start, `autograder` imports,
   the student's module imported, one call), per backend; and `import torch` in that worker.
3. Per submission: one in-process grading of the red-team course's correct submission (4 tests,
   no models: everything is overhead), per backend.
Medians of --repeat runs. The machine is shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
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

from autograder.config import Limits  # noqa: E402
from autograder.grade.runner import grade  # noqa: E402
from autograder.sandbox import LaunchSpec, choose_backend  # noqa: E402
from autograder.worker.client import StudentHandle, WorkerConfig  # noqa: E402
from tests.redteam.conftest import GOOD, write_course  # noqa: E402

BACKENDS = ("bwrap", "uid", "none")
LAB = "def one():\n    return 1\n\ndef torch_version():\n    import torch\n    return torch.__version__\n"


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def launch(name: str, work: Path) -> None:
    work.mkdir(exist_ok=True)
    backend = choose_backend(name, own_code=True)
    spec = LaunchSpec(
        argv=["true"], env={"PATH": "/usr/bin:/bin"}, pass_fds=(), limits=Limits(), writable=[work], cwd=work
    )
    job = backend.spawn(spec)
    job.proc.communicate()
    job.stop()
    backend.close()


def worker_call(name: str, work: Path, fn: str) -> None:
    files, scratch = work / "files", work / "scratch"
    for folder in (files, scratch):
        folder.mkdir(parents=True, exist_ok=True)
    (files / "lab.py").write_text(LAB)
    backend = choose_backend(name, own_code=True)
    cfg = WorkerConfig(
        files_dir=files,
        module_name="lab",
        scratch=scratch,
        data=None,
        assets={},
        seed=1,
        limits=Limits(memory=4 * 1024**3),
        backend=backend,
    )
    student = StudentHandle(cfg)
    student.call(fn)
    student.close()
    backend.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    console = Console()
    work = Path(tempfile.mkdtemp(prefix="bench-sandbox-"))
    course = write_course(work / "course")
    (work / "good").mkdir()
    (work / "good" / "solution.py").write_text(GOOD)

    table = Table(title=f"sandbox costs, median of {args.repeat} (load average {os.getloadavg()[0]:.1f})")
    table.add_column("backend")
    for column in ("launch `true`", "worker start + 1 call", "+ import torch", "one grading (4 tests)"):
        table.add_column(column, justify="right")
    plain = median_time(lambda: subprocess.run(["true"], check=True), args.repeat)
    table.add_row("(no wrapping)", f"{plain * 1000:.1f} ms", "", "", "")
    for name in BACKENDS:
        start = median_time(lambda n=name: launch(n, work / "launch"), args.repeat)
        call = median_time(lambda n=name: worker_call(n, work / n, "one"), args.repeat)
        torch = median_time(
            lambda n=name: worker_call(n, work / n, "torch_version"), max(2, args.repeat // 2)
        )
        graded = median_time(
            lambda n=name: grade(course, "rt", work / "good", work / f"out-{n}", sandbox=n), args.repeat
        )
        table.add_row(
            name, f"{start * 1000:.1f} ms", f"{call * 1000:.0f} ms", f"{torch:.2f} s", f"{graded:.2f} s"
        )
    console.print(table)
    console.print(
        "launch: spawn to exit of `true`, including cgroup set-up and the kill-everything clean-up; "
        "+ import torch: a fresh worker whose one call imports torch."
    )


if __name__ == "__main__":
    main()
