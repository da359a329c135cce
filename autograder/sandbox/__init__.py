"""How the student worker is started: the isolation backend and its resource limits.

Three backends, chosen by `choose_backend` and named in results.json `extra_data.sandbox`:

- `bwrap`: bubblewrap, run as a fresh unprivileged uid when the grader is root. New user, PID,
  network, IPC and mount namespaces; the worker sees Python, the venv, the autograder package,
  the assets and public data read-only, its submission copy, and a writable scratch folder.
- `uid`: a fresh unprivileged uid with rlimits, for containers that refuse user namespaces.
  Hidden tests, the reference and the results are covered (mount namespace) or made unreadable.
- `none`: rlimits only. For a student's own checks, or with an explicit `--sandbox none`.

Every backend turns a LaunchSpec into a Running worker that can kill everything it started.
Memory and process caps use a cgroup when the grader may create one, else RLIMIT_AS/RLIMIT_NPROC.
"""

from __future__ import annotations

import functools
import io
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import autograder
from autograder.config import Limits
from autograder.sandbox.access import close_off, coverable, mount_namespaces_work, mount_prefix, open_up
from autograder.sandbox.cgroup import Cgroup
from autograder.sandbox.kill import UidLease, kill_group, kill_uid

BACKENDS = ("auto", "bwrap", "uid", "none")


class SandboxUnavailable(Exception):
    """The requested isolation cannot be had here; the message says what to do."""


@dataclass
class LaunchSpec:
    argv: list[str]
    env: dict[str, str]
    pass_fds: tuple[int, ...]
    limits: Limits
    readonly: list[Path] = field(default_factory=list)  # what the worker may read besides Python
    writable: list[Path] = field(default_factory=list)  # its scratch folder
    cwd: Path | None = None


def package_root() -> Path:
    """The folder holding the `autograder` package the grader runs (the worker imports it from there)."""
    return Path(autograder.__file__).resolve().parent.parent


def runtime_paths() -> list[Path]:
    """What running the worker needs besides the system: the interpreter, the venv, this package."""
    package = Path(autograder.__file__).resolve().parent
    return sorted({Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), package})


class Process(Protocol):
    """What Running needs of the worker's process: a Popen, or a zygote's child (worker/zygote.py)."""

    returncode: int | None

    @property
    def pid(self) -> int: ...

    @property
    def stdout(self) -> IO[bytes] | None: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...


class Running:
    """One started worker and everything it may have started since."""

    def __init__(self, proc: Process, cgroup: Cgroup | None, uid: int | None, limits: Limits) -> None:
        self.proc, self.cgroup, self.uid, self.limits = proc, cgroup, uid, limits
        self.peak_rss = 0
        self.limit_hit: str | None = None  # "memory" or "processes" when the kernel says so
        self.stopped = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    def poll(self) -> int | None:
        return self.proc.poll()

    @property
    def output(self) -> io.BufferedIOBase:
        """The worker's stdout and stderr: the pipe every backend (and a zygote, for a fork) opens."""
        stream = self.proc.stdout
        assert isinstance(stream, io.BufferedIOBase), "a worker started without its output pipe"
        return stream

    def stop(self) -> None:
        """SIGKILL the whole job (cgroup, process group, every process of its uid), then reap it."""
        if self.stopped:
            return
        self.stopped = True
        if self.cgroup:
            self.cgroup.kill()
        kill_group(self.proc.pid)
        if self.uid is not None:
            kill_uid(self.uid)
        if self.proc.returncode is None:
            try:
                _, status, usage = os.wait4(self.proc.pid, 0)
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                self.peak_rss = max(self.peak_rss, usage.ru_maxrss * 1024)
            except ChildProcessError:
                self.proc.wait()
        if self.cgroup:
            self.peak_rss = max(self.peak_rss, self.cgroup.peak_memory())
            if self.cgroup.memory_exceeded():
                self.limit_hit = "memory"
            elif self.cgroup.processes_exceeded():
                self.limit_hit = "processes"
            self.cgroup.remove()


def _rlimits(limits: Limits, cgroup: Cgroup | None, nproc: bool) -> None:
    """Runs in the child between fork and exec."""
    if cgroup:
        cgroup.enter()
    cpu = int(limits.cpu)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    if cgroup is None:
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory, limits.memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.disk, limits.disk))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if nproc:  # counted per uid: only meaningful for a uid of the job's own
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))


class Backend:
    name = "none"

    def __init__(self) -> None:
        self.uid: int | None = None
        self.details: dict[str, str] = {}
        self.zygote: Any = None  # this job's pre-imported worker (autograder/worker/zygote.py), if any
        self.zygote_failed = False

    def protect(self, secrets: list[Path]) -> None:
        """Paths the worker must never read (hidden tests, reference, results)."""

    def prepare(self, spec: LaunchSpec) -> list[str]:
        return spec.argv

    def spawn(self, spec: LaunchSpec) -> Running:
        argv = self.prepare(spec)
        cgroup = Cgroup.create(spec.limits.memory, spec.limits.processes) if os.geteuid() == 0 else None
        self.details.update(
            memory="cgroup" if cgroup else "RLIMIT_AS",
            processes="cgroup" if cgroup and cgroup.pids else "uid" if self.uid else "not limited",
        )
        try:
            proc = subprocess.Popen(
                argv,
                env=spec.env,
                pass_fds=spec.pass_fds,
                cwd=spec.cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=functools.partial(_rlimits, spec.limits, cgroup, self.uid is not None),
            )
        except BaseException:
            if cgroup:
                cgroup.remove()
            raise
        return Running(proc, cgroup, self.uid, spec.limits)

    def close(self) -> None:
        """Called once the job is over."""
        if self.zygote is not None:
            self.zygote.stop()
            self.zygote = None


class NoBackend(Backend):
    """rlimits and a process group (plus a cgroup as root). No file or network isolation."""

    name = "none"

    def __init__(self) -> None:
        super().__init__()
        self.details = {"network": "open", "files": "everything the grader's user can read"}


class UidBackend(Backend):
    """The worker runs as a fresh unprivileged uid (root only). With mount namespaces it sees the
    grader's paths it needs and none of the secrets, and has no network; without, secrets are chmod 700."""

    name = "uid"

    def __init__(self) -> None:
        super().__init__()
        if os.geteuid() != 0 or not shutil.which("setpriv"):
            raise SandboxUnavailable("the uid backend needs the grader to run as root (with setpriv)")
        self.lease: UidLease | None = UidLease()  # a uid no account uses: its processes are the job's alone
        self.uid = self.lease.uid
        self.namespaces = mount_namespaces_work()
        self.stage: Path | None = None  # where the mount namespace parks paths while it covers their parents
        self.secrets: list[Path] = []
        self.details = {
            "uid": str(self.uid),
            "network": "none" if self.namespaces else "open",
            "files": "covered by a mount namespace" if self.namespaces else "secrets chmod 700",
        }

    def protect(self, secrets: list[Path]) -> None:
        self.secrets = list(secrets)  # covered (or closed off) at each spawn, around what it needs

    def _grant(self, spec: LaunchSpec) -> list[str]:
        uid = self.uid
        assert uid is not None, "only a backend with a job uid grants it paths"  # uid, or bwrap as root
        for folder in spec.writable:
            os.chown(folder, uid, uid)
        needed = [*runtime_paths(), *spec.readonly, *spec.writable]
        hide = coverable(self.secrets, needed)
        if self.namespaces:
            self.stage = self.stage or Path(tempfile.mkdtemp(prefix="course-sandbox-"))
            return mount_prefix(needed, uid, self.stage, hide=hide, net=self.name == "uid")
        close_off(hide)
        if stuck := open_up(needed, uid):
            raise SandboxUnavailable(
                f"an unprivileged uid cannot read {', '.join(map(str, stuck))}; "
                "install Python and the venv world-readable (or use --sandbox bwrap)"
            )
        return []

    def _setpriv(self) -> list[str]:
        """Become the job's uid, with no groups, no way to gain privileges, and dying with the grader."""
        return [
            "setpriv",
            f"--reuid={self.uid}",
            f"--regid={self.uid}",
            "--clear-groups",
            "--nnp",
            "--pdeathsig",
            "KILL",
        ]

    def prepare(self, spec: LaunchSpec) -> list[str]:
        return [*self._grant(spec), *self._setpriv(), *spec.argv]

    def close(self) -> None:
        super().close()
        if self.uid is not None:
            kill_uid(self.uid)
        if self.lease:
            self.lease.release()
        if self.stage:
            shutil.rmtree(self.stage, ignore_errors=True)


class BwrapBackend(UidBackend):
    """bubblewrap: nothing of the host is visible but what is bound in; no network; PID namespace."""

    name = "bwrap"

    def __init__(self) -> None:
        Backend.__init__(self)  # not UidBackend's: root is optional here (a student runs it as themselves)
        if not shutil.which("bwrap"):
            raise SandboxUnavailable("bubblewrap is not installed (apt-get install bubblewrap)")
        self.root = os.geteuid() == 0
        self.lease = UidLease() if self.root else None
        self.uid = self.lease.uid if self.lease else None
        self.namespaces = self.root and mount_namespaces_work()
        self.stage = None
        self.secrets = []
        self.details = {
            "uid": str(self.uid or os.geteuid()),
            "network": "none",
            "files": "python, venv, assets and public data read-only; scratch writable",
        }

    def protect(self, secrets: list[Path]) -> None:
        """Nothing to do: the sandbox only holds what is bound in."""

    def system_binds(self) -> list[str]:
        args = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
        for name in ("bin", "sbin", "lib", "lib32", "lib64"):
            path = Path("/") / name
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                args += ["--ro-bind", str(path), str(path)]
        return args

    def prepare(self, spec: LaunchSpec) -> list[str]:
        args = [
            "bwrap",
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
            "--hostname",
            "sandbox",
            *self.system_binds(),
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--size",
            str(min(spec.limits.disk, 512 * 1024**2)),
            "--tmpfs",
            "/tmp",
        ]
        for path in sorted({*runtime_paths(), *spec.readonly}):
            args += ["--ro-bind", str(path), str(path)]
        for path in spec.writable:
            args += ["--bind", str(path), str(path)]
        if spec.cwd:
            args += ["--chdir", str(spec.cwd)]
        args += ["--", *spec.argv]
        if not self.root:
            return args
        return [*self._grant(spec), *self._setpriv(), *args]


@functools.cache
def bwrap_works() -> bool:
    """One throw-away launch: bubblewrap installed and allowed to make user namespaces here."""
    try:
        backend = BwrapBackend()
    except SandboxUnavailable:
        return False
    spec = LaunchSpec(argv=["true"], env={"PATH": "/usr/bin:/bin"}, pass_fds=(), limits=Limits())
    try:
        done = subprocess.run(backend.prepare(spec), capture_output=True, check=False, timeout=30)
    except SandboxUnavailable:
        return False
    finally:
        backend.close()
    return done.returncode == 0


def choose_backend(requested: str | None = None, *, own_code: bool = False) -> Backend:
    """`auto` takes bwrap where it works, else a separate uid (root), else fails; with `own_code`
    (a student's local checks) it falls back to `none` with a note instead."""
    requested = requested or "auto"
    if requested not in BACKENDS:
        raise SandboxUnavailable(f"unknown sandbox backend {requested!r}: use one of {', '.join(BACKENDS)}")
    if requested == "none":
        if not own_code:
            print(
                "WARNING: --sandbox none: student code runs WITHOUT isolation, with the grader's "
                "permissions and network. Use it only for code you trust.",
                file=sys.stderr,
            )
        return NoBackend()
    if requested == "bwrap" or (requested == "auto" and bwrap_works()):
        return BwrapBackend()
    try:
        return UidBackend()
    except SandboxUnavailable as exc:
        if requested == "auto" and own_code:
            print(
                "note: no sandbox here (bubblewrap missing and not root): your code runs as you, "
                "with rlimits only. That is fine for your own checks.",
                file=sys.stderr,
            )
            return NoBackend()
        if requested == "auto":
            raise SandboxUnavailable(
                "no sandbox is available: install bubblewrap (scripts/install-system-deps.sh) or run the "
                "grader as root; `--sandbox none` runs untrusted code without isolation"
            ) from exc
        raise
