"""Every way the grader kills processes, in one place: a grading's process group and descendants,
every process of a job's uid, and a child that dies with the process that started it."""

from __future__ import annotations

import ctypes
import os
import signal

import psutil

PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36
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
