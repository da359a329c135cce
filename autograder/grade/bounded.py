"""The grading process under a memory limit of its own (course.yaml `limits.grader_memory`).

The trusted grader loads what a student's code saved (models, tokenizers) in its own process, so
whatever the pre-load checks (autograder.grade.artifacts) miss must fail that one grading, never
take the machine. `course grade` forks: the child grades as before, inside a cgroup of its own
when the grader may create one (root), else under RLIMIT_AS; the parent only waits. When the
child is killed for memory, the parent completes results.json: tests already finished keep their
results, the others say the grader ran out of memory, and extra_data.grader_out_of_memory says so.
The worker's own cgroups are siblings of the grader's (see sandbox.cgroup), not inside it.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import resource
import signal
import sys
from pathlib import Path
from typing import NoReturn

from autograder.grade.results import NOT_RUN, failure_results, read_results, write_json_atomic
from autograder.sandbox.cgroup import Cgroup, _own_dirs

GRADER_CGROUP = "course-grader-"  # sandbox.cgroup places worker cgroups beside, not inside, these
ADDRESS_SPACE_SLACK = 3 * 1024**3  # torch and glibc reserve address space they never touch
OUT_OF_MEMORY = (
    "The grader ran out of memory ({limit}) during this test, most likely while loading something "
    "your code saved (a model, a tokenizer) that is far larger than the assignment's. Save the model "
    "the assignment asks for, at its size."
)
PR_SET_PDEATHSIG = 1


def _mib(n: int) -> str:
    return f"{n / 1024**2:,.0f} MiB"


def grader_cgroup(limit: int) -> Cgroup | None:
    """A memory cgroup for the grading process, beside this one's; None when not permitted."""
    if os.geteuid() != 0:
        return None
    dirs = _own_dirs()
    name = f"{GRADER_CGROUP}{os.getpid()}"
    try:
        if "memory" in dirs:  # cgroup v1
            group = dirs["memory"] / name
            group.mkdir(exist_ok=True)
            (group / "memory.limit_in_bytes").write_text(str(limit))
            return Cgroup(group, None, v2=False)
        if "" in dirs and (dirs[""] / "cgroup.controllers").is_file():
            group = dirs[""] / name
            group.mkdir(exist_ok=True)
            if not (group / "memory.max").exists():
                group.rmdir()
                return None
            (group / "memory.max").write_text(str(limit))
            if (group / "memory.swap.max").exists():
                (group / "memory.swap.max").write_text("0")
            return Cgroup(group, None, v2=True)
    except OSError:
        return None
    return None


def _limit_child(cgroup: Cgroup | None, limit: int) -> None:
    """In the forked child: die with the parent, then enter the cgroup or cap the address space."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if cgroup is not None:
        cgroup.enter()
        return
    # Only the soft limit: the worker, started from here, sets its own (the hard limit stays open).
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = limit + ADDRESS_SPACE_SLACK
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def bound_memory(results_path: Path, limit: int, max_score: float) -> None:
    """Fork. The child returns at once and does the grading under `limit` bytes. The parent never
    returns: it waits, completes results.json if the child was killed for memory, and exits with
    the child's status (0 then: results.json was written for something a student can cause)."""
    cgroup = grader_cgroup(limit)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        _limit_child(cgroup, limit)
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the child, which stops as before
    _, status, usage = os.wait4(pid, 0)
    peak = usage.ru_maxrss * 1024
    killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    out_of_memory = killed and (cgroup is None or cgroup.memory_exceeded())
    if cgroup is not None:
        peak = cgroup.peak_memory() or peak
        cgroup.kill()
        cgroup.remove()
    if out_of_memory:
        record_out_of_memory(results_path, limit, peak, max_score)
        print(
            f"grading ran out of memory ({_mib(limit)}, limits.grader_memory in course.yaml); "
            f"{results_path} says so",
            file=sys.stderr,
        )
        os._exit(0)
    os._exit(os.waitstatus_to_exitcode(status) if not os.WIFSIGNALED(status) else 128 + os.WTERMSIG(status))


def record_out_of_memory(results_path: Path, limit: int, peak: int, max_score: float) -> None:
    """Keep every finished test; the one running and those after it fail with a plain message."""
    message = OUT_OF_MEMORY.format(limit=_mib(limit))
    data = read_results(results_path)
    if data is None or not data["tests"]:  # none written yet, or before collection listed the tests
        data = failure_results(message, max_score).to_json()
    for test in data["tests"]:
        if test.get("output") == NOT_RUN:
            test.update(status="failed", score=0.0, output=message)
    data["score"] = round(sum(t.get("score", 0.0) for t in data["tests"]), 4)
    data["output"] = message
    data.setdefault("extra_data", {})["grader_out_of_memory"] = {"limit_bytes": limit, "peak_bytes": peak}
    write_json_atomic(results_path, data)


def end_grading_child() -> NoReturn:
    """The grading child's normal end, once results.json is written: atexit handlers and buffered
    output as at any exit, without the interpreter's teardown of what it imported (about a second
    after a grading that loaded torch and transformers, which the waiting parent would pay)."""
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
