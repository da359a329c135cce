"""Submissions made from the reference, graded in a fresh `course grade` process each.

`course validate`, `course mutate`, the demo and the benchmarks all prove graders this way: one
grading cannot disturb the next, exactly as in a TA's batch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from autograder.layout import Layout
from autograder.sandbox.kill import die_with_parent


def grade_command(module_id: str, submission: Path, out: Path, *options: str) -> list[str]:
    """`course grade MODULE SUBMISSION --out DIR --quiet [OPTIONS]`, run by this very interpreter."""
    cli = [sys.executable, "-m", "autograder.cli", "grade", module_id, str(submission), "--out", str(out)]
    return [*cli, "--quiet", *options]


def grade_in_subprocess(
    layout: Layout,
    module_id: str,
    submission: Path,
    out: Path,
    seed: int | None = None,
    suite: str = "hidden",
    only: list[str] | None = None,
    env: dict[str, str] | None = None,
    first_failure: bool = False,
) -> dict[str, Any]:
    """Grade in a fresh process, as a TA's batch would: one grading cannot disturb the next."""
    cmd = grade_command(module_id, submission, out, "--suite", suite)
    if seed is not None:
        cmd += ["--seed", str(seed)]
    for name in only or []:
        cmd += ["--only", name]
    if first_failure:
        cmd.append("--first-failure")
    subprocess.run(
        cmd,
        cwd=layout.root,
        env={**_env(layout), **(env or {})},
        check=False,
        stdout=subprocess.DEVNULL,
        preexec_fn=die_with_parent,  # a killed validate or mutate leaves no grading running
    )
    results: dict[str, Any] = json.loads((out / "results.json").read_text())
    return results


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
