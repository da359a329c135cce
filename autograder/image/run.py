"""`course image grade`: one submission in a fresh container, exactly as Gradescope runs it.

The submission is mounted read-only at /autograder/submission, /autograder/run_autograder runs
with no network, capped memory, CPUs and processes, and /autograder/results/results.json comes
back. Whatever happens to the container (out of memory, too slow, a broken image), the student
gets a results.json that says so in one line.
"""

from __future__ import annotations

import math
import os
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.config import Limits
from autograder.grade.results import failure_results, read_results, write_json_atomic
from autograder.image.docker import Docker, DockerError

STARTUP_ALLOWANCE = 120.0  # seconds for the container to start and write results after the wall limit
RESULTS = "/autograder/results"


@dataclass(frozen=True)
class Hardware:
    cpus: float
    memory: int  # bytes


GiB = 1024**3
# Gradescope's autograder hardware options (Autograder Settings), smallest first.
PRESETS: dict[str, Hardware] = {
    "0.5cpu-768mb": Hardware(0.5, 768 * 1024**2),
    "1cpu-1.5gb": Hardware(1.0, int(1.5 * GiB)),
    "2cpu-3gb": Hardware(2.0, 3 * GiB),
    "4cpu-6gb": Hardware(4.0, 6 * GiB),
}


def module_hardware(limits: Limits) -> Hardware:
    """The module's own limits: its worker's memory plus the grading process's, and a CPU for each
    worker thread plus one for the grader (never more than this machine has)."""
    return Hardware(float(min(limits.threads + 1, os.cpu_count() or 1)), limits.memory + limits.grader_memory)


def preset_for(limits: Limits) -> str | None:
    """The smallest Gradescope preset that holds the module's worker and its grader, if any does."""
    need = module_hardware(limits)
    for name, hw in PRESETS.items():
        if hw.memory >= need.memory and hw.cpus >= limits.threads:
            return name
    return None


def stage_submission(submission: Path, into: Path) -> Path:
    """What Gradescope puts in /autograder/submission: a folder's files, a zip unpacked, a file alone.
    Always a fresh root-only copy: the read-only mount then needs no chmod to be out of the
    student worker's reach, and the TA's original is never touched."""
    from autograder.grade.intake import copy_file, copy_folder, extract_zip

    into.mkdir(parents=True, exist_ok=True)
    into.chmod(0o700)
    if submission.is_dir() and not submission.is_symlink():
        copy_folder(submission, into)
    elif submission.suffix == ".zip":
        extract_zip(submission, into)
    else:
        copy_file(submission, into)
    return into


def _gib(n: int) -> str:
    return f"{n / GiB:.3g} GiB"


def grade_in_container(
    docker: Docker,
    image: str,
    module: str,
    submission: Path,
    out: Path,
    *,
    limits: Limits,
    hardware: Hardware,
    max_score: float,
    metadata: Path | None = None,
    pids: int = 1024,
) -> dict[str, Any]:
    """Grade one submission in a fresh container; results.json is written to `out` in every case."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").unlink(missing_ok=True)
    name = f"course-grade-{uuid.uuid4().hex[:12]}"
    wall = limits.wall + STARTUP_ALLOWANCE
    with tempfile.TemporaryDirectory(prefix="course-image-") as tmp:
        results_dir = Path(tmp) / "results"
        results_dir.mkdir()
        try:
            staged = stage_submission(submission.absolute(), Path(tmp) / "submission")
        # An unreadable upload is the student's to fix, and says so. Reading it can raise more than
        # IntakeError and OSError (a corrupt deflate stream raises zlib.error): a deliberate boundary.
        except Exception as exc:  # noqa: BLE001 - whatever the student's upload makes us raise
            message = f"Your submission could not be read: {exc}"
            return _write(out, failure_results(message, max_score).to_json())
        mounts = ["-v", f"{staged}:/autograder/submission:ro", "-v", f"{results_dir}:{RESULTS}"]
        if metadata:
            mounts += ["-v", f"{metadata.resolve()}:/autograder/submission_metadata.json:ro"]
        memory = str(hardware.memory)
        args = ["create", "--name", name, "--network", "none", "--memory", memory, "--memory-swap", memory]
        cpus = min(hardware.cpus, float(os.cpu_count() or 1))  # docker refuses more than the machine has
        args += ["--cpus", f"{cpus:g}", "--pids-limit", str(pids), *mounts, image]
        # the container ends itself even if nobody is left to kill it
        args += ["timeout", "-s", "KILL", str(math.ceil(wall + 30)), "/autograder/run_autograder", module]
        started = time.monotonic()
        try:
            docker.run(*args)
            timed_out = False
            try:
                docker.run("start", "-a", name, timeout=wall)
            except DockerError:
                pass  # its exit status is read below
            except subprocess.TimeoutExpired:
                timed_out = True
                docker.run("kill", name)
            state = docker.inspect(name)["State"]
        except DockerError as exc:
            message = f"The autograder image could not run this submission ({exc}). This is not your fault."
            return _write(out, failure_results(message, max_score, {"grader_failed": True}).to_json())
        finally:
            try:
                docker.run("rm", "-f", name)
            except DockerError:
                pass
        seconds = time.monotonic() - started
        results = read_results(results_dir / "results.json")
        why = None
        if state.get("OOMKilled"):
            why = (
                f"Grading was stopped: together with the grader, your code used more than the "
                f"{_gib(hardware.memory)} of memory this autograder has."
            )
        elif timed_out:
            why = f"Grading was stopped: it took longer than {wall:.0f} s."
        if results is None:
            why = why or f"The autograder stopped without a result (exit status {state.get('ExitCode')})."
            results = failure_results(why, max_score, {"grader_failed": not state.get("OOMKilled")}).to_json()
        elif why:
            results["output"] = f"{why}\n{results.get('output', '')}".strip()
        extra = results.setdefault("extra_data", {})
        extra["container"] = {
            "image": image,
            "memory_bytes": hardware.memory,
            "cpus": cpus,
            "pids_limit": pids,
            "network": "none",
            "seconds": round(seconds, 2),
            "exit_code": state.get("ExitCode"),
            "oom_killed": bool(state.get("OOMKilled")),
        }
        return _write(out, results)


def _write(out: Path, results: dict[str, Any]) -> dict[str, Any]:
    write_json_atomic(out / "results.json", results)
    return results
