"""How the student worker is started: the isolation backend and its resource limits.

Every backend turns a LaunchSpec into a running process and can kill everything that process
started. The grader never starts student code any other way.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from autograder.config import Limits


@dataclass
class LaunchSpec:
    argv: list[str]
    env: dict[str, str]
    pass_fds: tuple[int, ...]
    limits: Limits
    readonly: list[Path] = field(default_factory=list)  # what the worker may read
    writable: list[Path] = field(default_factory=list)  # its private copy of the submission, scratch
    cwd: Path | None = None


def _apply_rlimits(limits: Limits) -> None:
    """Runs in the child between fork and exec."""
    cpu = int(limits.cpu)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory, limits.memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.disk, limits.disk))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if os.geteuid() != 0:  # root ignores RLIMIT_NPROC; other backends bound processes instead
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))


class ProcessGroupBackend:
    """No isolation beyond rlimits and a process group. For trusted code and local checks."""

    name = "none"

    def spawn(self, spec: LaunchSpec) -> subprocess.Popen:
        return subprocess.Popen(
            spec.argv, env=spec.env, pass_fds=spec.pass_fds, cwd=spec.cwd,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=lambda: _apply_rlimits(spec.limits),
        )

    def kill(self, proc: subprocess.Popen) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def choose_backend(requested: str | None = None) -> ProcessGroupBackend:
    if requested not in (None, "auto", "none"):
        raise ValueError(f"unknown sandbox backend {requested!r}")
    if requested is None or requested == "auto":
        print("warning: no sandbox backend is available yet; student code runs with rlimits only",
              file=sys.stderr)
    return ProcessGroupBackend()
