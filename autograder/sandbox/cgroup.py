"""A per-worker cgroup: a hard memory limit, a process cap, a peak figure and a reliable kill.

Used when the grader may create cgroups (root on most Linux hosts, v1 or v2); otherwise the
backends fall back to rlimits and `Cgroup.create` returns None.
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
_counter = itertools.count()


def _own_dirs() -> dict[str, Path]:
    """controller name -> the folder of this process's cgroup for it ("" for cgroup v2)."""
    dirs: dict[str, Path] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return dirs
    for line in lines:
        _, controllers, rel = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            base = (
                ROOT / "unified"
                if name == "" and (ROOT / "unified").is_dir()
                else ROOT / name
                if name
                else ROOT
            )
            for candidate in (base / rel.lstrip("/"), base):  # inside a cgroup namespace the path is "/"
                if candidate.is_dir():
                    # the grading process's own memory cgroup (grade.bounded): workers go beside it
                    dirs[name] = (
                        candidate.parent if candidate.name.startswith("course-grader-") else candidate
                    )
                    break
    return dirs


def _sweep(parent: Path) -> None:
    """Kill and remove what graders that were killed themselves left behind (their pid is gone)."""
    for stale in [*parent.glob("course-worker-*"), *parent.glob("course-grader-*")]:
        if Path(f"/proc/{stale.name.split('-')[2]}").exists():
            continue
        try:
            for pid in (stale / "cgroup.procs").read_text().split():
                os.kill(int(pid), signal.SIGKILL)
            stale.rmdir()
        except (OSError, ValueError):
            pass


class Cgroup:
    """One fresh child cgroup per worker, removed when the worker is gone."""

    def __init__(self, memory: Path, pids: Path | None, v2: bool) -> None:
        self.memory, self.pids, self.v2 = memory, pids, v2

    @classmethod
    def create(cls, memory: int, processes: int) -> Cgroup | None:
        dirs = _own_dirs()
        for parent in dirs.values():
            _sweep(parent)
        name = f"course-worker-{os.getpid()}-{next(_counter)}"
        try:
            if "memory" in dirs:  # v1: one hierarchy per controller
                mem = dirs["memory"] / name
                mem.mkdir()
                (mem / "memory.limit_in_bytes").write_text(str(memory))
                pids = None
                if "pids" in dirs:
                    pids = dirs["pids"] / name
                    pids.mkdir()
                    (pids / "pids.max").write_text(str(processes))
                return cls(mem, pids, v2=False)
            if "" in dirs and (dirs[""] / "cgroup.controllers").is_file():
                group = dirs[""] / name
                group.mkdir()
                if not (group / "memory.max").exists():
                    group.rmdir()
                    return None
                (group / "memory.max").write_text(str(memory))
                if (group / "memory.swap.max").exists():
                    (group / "memory.swap.max").write_text("0")
                if (group / "pids.max").exists():
                    (group / "pids.max").write_text(str(processes))
                return cls(group, group, v2=True)
        except OSError:
            return None
        return None

    def folders(self) -> list[Path]:
        """Its folder in each hierarchy: memory's and pids' under v1, one under v2."""
        return [folder for folder in {self.memory, self.pids} if folder is not None]

    def enter(self) -> None:
        """Move the calling process in. Runs in the child between fork and exec."""
        for folder in self.folders():
            with open(folder / "cgroup.procs", "w") as fh:
                fh.write(str(os.getpid()))

    def _read(self, folder: Path | None, name: str) -> str:
        try:
            return (folder / name).read_text() if folder else ""
        except OSError:
            return ""

    def _counter(self, folder: Path | None, name: str, key: str) -> int:
        for line in self._read(folder, name).splitlines():
            k, _, v = line.partition(" ")
            if k == key:
                return int(v)
        return 0

    def memory_exceeded(self) -> bool:
        if self.v2:
            return self._counter(self.memory, "memory.events", "oom_kill") > 0
        if "oom_kill " in self._read(self.memory, "memory.oom_control"):
            return self._counter(self.memory, "memory.oom_control", "oom_kill") > 0
        return int(self._read(self.memory, "memory.failcnt") or 0) > 0  # kernels before 4.13: hit the limit

    def processes_exceeded(self) -> bool:
        return self._counter(self.pids, "pids.events", "max") > 0

    def peak_memory(self) -> int:
        value = self._read(self.memory, "memory.peak" if self.v2 else "memory.max_usage_in_bytes").strip()
        return int(value) if value.isdigit() else 0

    def kill(self) -> None:
        """SIGKILL every process inside, forks included, until it is empty; then remove the cgroup."""
        if self.v2 and (self.memory / "cgroup.kill").exists():
            (self.memory / "cgroup.kill").write_text("1")
        for _ in range(100):
            pids = {int(p) for folder in self.folders() for p in self._read(folder, "cgroup.procs").split()}
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)

    def remove(self) -> None:
        for folder in self.folders():
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # busy until the last zombie is reaped
                    time.sleep(0.02)
