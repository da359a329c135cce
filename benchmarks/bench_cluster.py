"""What Dask costs: the same class graded by the local pool (--jobs 2) and by a local Dask cluster of
2 worker processes, in one run, and the coordinator's own work per submission.

    .venv/bin/python benchmarks/bench_cluster.py [--students 8] [--work 1.0] [--repeat 1]

Uses the tests' mini course (no models); each submission burns `--work` CPU seconds in each of the
3 calls of add(). Both runs use the batch coordinator in this process, each with a fresh output
folder and gradebook. The cluster is started first (its start-up is timed on its own: a real cluster
is already up), then graded through its scheduler address, exactly as `--cluster ADDRESS`. The
coordinator's CPU seconds per submission (this process, all its threads: planning, Dask client,
recording, feedback) are measured for both. Ends with a paper estimate for a whole course on a
real cluster, from these figures. The load average is printed: shared cores skew every figure.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


STEPS: dict[str, float] = {}  # seconds the coordinator spent in each per-submission step, this batch


def timed(owner: object, name: str) -> None:
    """Wrap owner.name so its wall time adds up in STEPS[name]."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            STEPS[name] = STEPS.get(name, 0.0) + time.perf_counter() - started

    setattr(owner, name, wrapper)


def grade(layout, subs: Path, out: Path, cluster: str | None) -> tuple[float, float, float]:
    """Wall and coordinator CPU seconds of one batch, and the coordinator's per-submission steps
    (plan: content hash; Dask: pack and submit, receive; both: record, results.json, feedback)."""
    from autograder.batch import discover
    from autograder.batch.cluster import ClusterGrader
    from autograder.batch.grader import BatchGrader
    from autograder.gradebook import Gradebook

    STEPS.clear()
    started, cpu = time.perf_counter(), time.process_time()
    with Gradebook(out / "gradebook.sqlite") as book:
        kind = ClusterGrader if cluster else BatchGrader
        extra = {"cluster": cluster} if cluster else {}
        grader = kind(layout, "mini", out, book, jobs=2, console=Console(quiet=True), **extra)
        outcomes = grader.run(discover(subs))
    assert [o.status for o in outcomes] == ["graded"] * len(outcomes), outcomes
    steps = STEPS["content_hash"] + (STEPS["_submit"] + STEPS["_settle"] if cluster else STEPS["_finish"])
    return time.perf_counter() - started, time.process_time() - cpu, steps / len(outcomes)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--work", type=float, default=1.0, help="CPU seconds per call of add()")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--class-size", type=int, default=300, help="for the paper estimate")
    parser.add_argument(
        "--course-cpu-min", type=float, default=16.0, help="CPU minutes per student, whole course"
    )
    parser.add_argument(
        "--longest-grading-s", type=float, default=459.0, help="m05's reference grading, idle"
    )
    parser.add_argument("--modules", type=int, default=10)
    parser.add_argument("--machines", type=int, default=10)
    parser.add_argument("--cores", type=int, default=16)
    args = parser.parse_args()
    import autograder.batch.grader
    from autograder.batch.cluster import ClusterGrader, connect, worker_version

    for owner, name in (
        (autograder.batch.grader, "content_hash"),  # where BatchGrader looks it up
        (autograder.batch.grader.BatchGrader, "_finish"),
        (ClusterGrader, "_submit"),
        (ClusterGrader, "_settle"),
    ):
        timed(owner, name)
    from autograder.layout import Layout
    from benchmarks.bench_batch import burning_student
    from tests.conftest import write_mini_course

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        layout = write_mini_course(tmp / "course")
        os.environ["COURSE_ROOT"] = str(layout.root)
        layout = Layout(layout.root)
        subs = tmp / "subs"
        for i in range(args.students):
            (subs / f"student{i}").mkdir(parents=True)
            (subs / f"student{i}" / "mini.py").write_text(
                burning_student(args.work, " + 1" if i % 4 == 3 else "")
            )

        started = time.perf_counter()
        with connect("local:2", layout) as client:
            client.wait_for_workers(2)
            client.run(worker_version, "mini", "hidden")  # the workers import the framework once
            startup = time.perf_counter() - started
            address = client.scheduler.address
            runs: dict[str, list[tuple[float, float, float]]] = {"pool": [], "dask": []}
            for n in range(args.repeat):  # alternate, so a change in the machine's load hits both
                runs["pool"].append(grade(layout, subs, tmp / f"pool{n}", None))
                runs["dask"].append(grade(layout, subs, tmp / f"dask{n}", address))

    pool, pool_cpu, pool_steps = (statistics.median(r[i] for r in runs["pool"]) for i in range(3))
    dask, dask_cpu, dask_steps = (statistics.median(r[i] for r in runs["dask"]) for i in range(3))
    pool_cpu, dask_cpu = pool_cpu / args.students, dask_cpu / args.students
    ratio = dask / pool
    table = Table(
        title=f"{args.students} submissions ({3 * args.work:.1f} CPU s of student work each), mini course, "
        f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (median of {args.repeat})"
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("local pool, --jobs 2: wall s", f"{pool:.1f}")
    table.add_row("Dask, LocalCluster of 2 workers (already up): wall s", f"{dask:.1f}")
    table.add_row("[bold]ratio Dask / pool[/] (target <= 1.10)", f"[bold]{ratio:.3f}[/]")
    table.add_row(
        "LocalCluster start-up and framework import (once per batch with --cluster local:N): s",
        f"{startup:.1f}",
    )
    table.add_row("ratio with that start-up included", f"{(dask + startup) / pool:.3f}")
    table.add_row("coordinator CPU over the batch / submissions, pool: s", f"{pool_cpu:.3f}")
    table.add_row("coordinator CPU over the batch / submissions, Dask: s", f"{dask_cpu:.3f}")
    table.add_row("coordinator steps per submission, pool (hash, record): s", f"{pool_steps:.3f}")
    table.add_row(
        "[bold]coordinator steps per submission, Dask[/] (hash, pack+submit, receive+record): s",
        f"[bold]{dask_steps:.3f}[/]",
    )
    table.add_row("extra wall per submission, Dask - pool: s", f"{(dask - pool) / args.students:.3f}")

    # Paper estimate: every core busy with one grading (threads: 1), so the work divides by the cores,
    # times the measured Dask/pool ratio. The coordinator records results while the workers grade, so
    # its CPU only matters if it is the slower of the two. Then a tail: the longest grading, started
    # last, runs alone.
    gradings = args.class_size * args.modules
    cores = args.machines * args.cores
    work_min = args.class_size * args.course_cpu_min / cores * max(ratio, 1.0)
    coordinator_min = gradings * dask_steps / 60
    tail_min = args.longest_grading_s / 60
    estimate = max(work_min, coordinator_min) + tail_min
    table.add_row(
        f"[bold]paper estimate[/]: {args.class_size} students x {args.modules} modules "
        f"({args.course_cpu_min:g} CPU-min per student) on {args.machines} x {args.cores} cores",
        f"[bold]{estimate:.0f} min[/]",
    )
    table.add_row(f"  work / {cores} cores x max(ratio, 1)", f"{work_min:.1f} min")
    table.add_row(
        f"  coordinator steps for {gradings} gradings (overlap the work; count only if longer)",
        f"{coordinator_min:.1f} min",
    )
    table.add_row("  tail: the longest grading (m05, idle) started last", f"{tail_min:.1f} min")
    Console().print(table)


if __name__ == "__main__":
    main()
