"""Every way the grader kills processes, in one place: a grading's process group and descendants,
every process of a job's uid (also when the grader that owned it was killed), and a child that
dies with the process that started it."""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import random
import signal
import tempfile
from pathlib import Path

import psutil

PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36
JOB_UIDS = range(1_000_000, 1_001_000_000)  # no account uses these; only these are ever swept
_libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent() -> None:
    """Runs in a child before exec: SIGKILLed when the thread that started it dies (a killed batch,
    a killed Dask worker take their gradings with them)."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def reap_orphans(on: bool) -> None:
    """Orphans of our descendants are re-parented to us (not init), so we can find and kill them."""
    _libc.prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0)


def kill_group(pid: int) -> None:
    """SIGKILL the process group `pid` leads (a process started with start_new_session)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_tree(pid: int) -> None:
    """SIGKILL `pid`, its process group and every descendant it has now."""
    try:
        procs = [*psutil.Process(pid).children(recursive=True), psutil.Process(pid)]
    except psutil.NoSuchProcess:
        return
    kill_group(pid)
    for proc in procs:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass


def kill_uid(uid: int) -> None:
    """SIGKILL every process of `uid`: daemons and double forks included. kill(-1) as that uid signals
    them all at once (the kernel holds the task list), so a fork bomb cannot outrun it."""
    pid = os.fork()
    if pid == 0:  # only system calls from here on: safe even though the grader has threads
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def _lease_folder() -> Path | None:
    """Root's own folder of uid leases (shared by every grader on this machine), or None."""
    for base in (Path("/run"), Path(tempfile.gettempdir())):
        folder = base / "course-sandbox-uids"
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
            info = folder.stat()
        except OSError:
            continue
        if info.st_uid == os.geteuid() and info.st_mode & 0o077 == 0:
            return folder
    return None


def sweep_uids(folder: Path) -> None:
    """Kill the processes of every job uid whose grader died before it could (its lease is unlocked)."""
    for lease in folder.glob("*.uid"):
        if not lease.stem.isdigit() or int(lease.stem) not in JOB_UIDS:
            continue
        try:
            fd = os.open(lease, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # held: its grader is alive
            continue
        kill_uid(int(lease.stem))
        lease.unlink(missing_ok=True)
        os.close(fd)


class UidLease:
    """A fresh job uid, held under a lock for as long as this grader lives. The kernel drops the lock
    when the grader dies however it dies, so the next grader on the machine finds the uid unlocked
    and kills what the job left behind (daemons, double forks) even without a cgroup or PID namespace."""

    def __init__(self) -> None:
        self.uid = random.SystemRandom().choice(JOB_UIDS)
        self.fd: int | None = None
        self.path: Path | None = None
        folder = _lease_folder()
        if folder is None:
            return
        sweep_uids(folder)
        # Locked before it is visible under its name, so no sweeper can take a live lease for stale.
        fd, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
        fcntl.flock(fd, fcntl.LOCK_EX)
        self.path = folder / f"{self.uid}.uid"
        os.rename(temporary, self.path)
        self.fd = fd

    def release(self) -> None:
        """The job is over and its processes killed: give the uid back."""
        if self.fd is not None:
            if self.path:
                self.path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None
