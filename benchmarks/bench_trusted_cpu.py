"""The trusted process's CPU when `course grade` grades a trivial submission, quiet and not.

    .venv/bin/python benchmarks/bench_trusted_cpu.py [--repeat 3]

Two trivial submissions: an empty file for the pure-Python module of a course made by `course new`,
and one stub function for this course's m01-tokenizers (every test fails fast: the starter's case).
`course grade` runs in a fresh process, as Gradescope runs it; a wrapper records the CPU the process
used before it forks its grading child (Python start-up, imports, course.yaml) and the grading
child's own, and nothing of the sandboxed workers (other processes). Prints medians, and the load
average: shared cores inflate CPU time a little too.

Python's bytecode is cached as an installed framework has it (pip compiles a wheel's modules; the
grading image installs one): each run reads it from a cache folder of its own, which the warm-up run
fills. `--as-checkout` keeps this shell's setting instead (PYTHONDONTWRITEBYTECODE makes every run
compile the autograder's modules again, about 0.03 s).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Runs `course grade` in this process; the first fork is the grading child (bound_memory's).
WRAPPER = """
import json, os, resource, sys
import autograder.grade.bounded as bounded

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

before = {}
fork = os.fork
def first_fork():
    before.setdefault("cpu", cpu())
    return fork()
os.fork = first_fork
end = bounded.end_grading_child
def record_and_end():
    with open(os.environ["BENCH_CPU_OUT"], "w") as fh:
        json.dump({"before_fork": before["cpu"], "grading_child": cpu()}, fh)
    end()
bounded.end_grading_child = record_and_end
from autograder.cli import app
app(sys.argv[1:])
"""


def trusted_cpu(
    course: Path, module: str, submission: Path, quiet: bool, tmp: Path, bytecode: dict[str, str]
) -> dict[str, float]:
    record = tmp / "cpu.json"
    record.unlink(missing_ok=True)
    argv = [sys.executable, "-c", WRAPPER, "grade", module, str(submission), "--out", str(tmp / "out")]
    env = {**os.environ, **bytecode, "COURSE_ROOT": str(course), "BENCH_CPU_OUT": str(record)}
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([*argv, *(["--quiet"] if quiet else [])], env=env, check=True, capture_output=True)
    return json.loads(record.read_text())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--as-checkout", action="store_true", help="no bytecode cache (see above)")
    args = parser.parse_args()
    from autograder.scaffold import MODULE, new_course

    table = Table(title="trusted CPU of `course grade` on a trivial submission (s, median)")
    for col in ("submission", "output", "before the fork", "grading child", "total", "target 0.5 s"):
        table.add_column(col, justify="right")
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        bytecode = {} if args.as_checkout else {"PYTHONPYCACHEPREFIX": str(tmp / "bytecode")}
        new_course(tmp / "new-course", "Bench course")
        (tmp / "empty").mkdir()
        (tmp / "empty" / "words.py").write_text("")
        (tmp / "stub").mkdir()
        (tmp / "stub" / "tokenizers_lab.py").write_text("def encode(tokenizer, text):\n    return []\n")
        cases = {
            f"`course new`'s {MODULE}, empty file": (tmp / "new-course", MODULE, tmp / "empty"),
            "m01-tokenizers, one stub": (ROOT, "m01-tokenizers", tmp / "stub"),
        }
        for name, (course, module, submission) in cases.items():
            trusted_cpu(course, module, submission, True, tmp, bytecode)  # reference cached, bytecode
            for quiet in (True, False):
                runs = [
                    trusted_cpu(course, module, submission, quiet, tmp, bytecode) for _ in range(args.repeat)
                ]
                before = statistics.median(r["before_fork"] for r in runs)
                child = statistics.median(r["grading_child"] for r in runs)
                total = statistics.median(r["before_fork"] + r["grading_child"] for r in runs)
                met = "yes" if total <= 0.5 else "NO"
                output = "quiet" if quiet else "table"
                table.add_row(name, output, f"{before:.3f}", f"{child:.3f}", f"{total:.3f}", met)
    Console(width=max(shutil.get_terminal_size().columns, 120)).print(table)
    cache = "none (as this checkout runs)" if args.as_checkout else "cached (as installed)"
    print(f"bytecode {cache}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
