"""A pre-imported worker: a zygote that has paid `import torch, transformers` once and forks a fresh
worker per request, so a worker starts in a fork instead of seconds of imports.

Safe by construction:
- the zygote is launched like a worker, through the job's backend with the worker's own LaunchSpec
  (same binds, uid, limits and cgroup parent, no network, no secret in reach); it holds no hidden
  data, reference or secret, and never runs student code itself;
- it is one per grading job (kept on that job's backend), so it only ever serves one student;
- each forked child starts a new session, gets its own pipes (sent over a unix socket), and waits
  until the trusted side has moved it into a cgroup of its own (memory, processes, kill) before it
  runs anything else, startup hooks and student code included. Stopping a worker kills that
  cgroup, not the zygote; without cgroups there is no zygote (its children would share its pid
  namespace and uid, and the uid kill that stops them would stop it too).
- it imports only, never runs torch ops or sets thread counts: OpenMP/MKL pools start in the child
  after the fork; a zygote that finds a second thread of its own refuses to serve.
If the zygote is missing, dies or answers wrongly, the worker is spawned cold, as before.
"""

from __future__ import annotations

import ast
import contextlib
import ctypes
import dataclasses
import io
import json
import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from autograder.config import Limits
from autograder.sandbox import Backend, LaunchSpec, Running, package_root
from autograder.sandbox.cgroup import Cgroup
from autograder.sandbox.kill import kill_group

MAIN = "import sys; sys.path.insert(0, {path!r}); from autograder.worker.zygote import main; main()"
# Python's -I without its -E: no user site-packages, no working folder on sys.path, but the
# environment the trusted side writes whole (PYTHONHASHSEED: the seed, so a set's order and what
# student code prints are the same on every run and machine; PYTHONUNBUFFERED) does apply.
ISOLATED = ("-s", "-P")
# What the zygote may import ahead: the heavy libraries a worker pays seconds for, nothing else.
HEAVY = ("numpy", "torch", "transformers", "tokenizers", "datasets", "peft", "evaluate", "accelerate",
         "huggingface_hub")  # fmt: skip
PR_SET_DUMPABLE = 4
READY_TIMEOUT = 120.0  # the zygote's own imports: what one cold worker pays


# -- the zygote (inside the sandbox) -------------------------------------------------------------
def main() -> None:
    channel = socket.socket(fileno=int(os.environ.pop("COURSE_ZYGOTE_FD")))
    from autograder.worker.server import preimport

    preimport(json.loads(os.environ.pop("COURSE_ZYGOTE_PRELOAD")))
    # Its children (this student's workers) can signal it but not ptrace it or read its memory.
    ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    if len(os.listdir("/proc/self/task")) > 1:
        sys.exit("zygote: an import started a thread; a fork would inherit a broken pool")
    channel.sendall(b'{"ready": true}\n')
    while True:
        _reap(channel)
        if not select.select([channel], [], [], 0.05)[0]:
            continue
        message, fds, _, _ = socket.recv_fds(channel, 1 << 16, 4)
        if not message:
            os._exit(0)  # the trusted side is gone
        pid = os.fork()
        if pid == 0:
            _become_worker(channel, json.loads(message), fds)
        for fd in fds:
            os.close(fd)
        channel.sendall(json.dumps({"pid": pid}).encode() + b"\n")


def _reap(channel: socket.socket) -> None:
    """Report every child that ended: its exit code as Popen would give it, and its peak memory."""
    while True:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        exit_code = os.waitstatus_to_exitcode(status)
        channel.sendall(
            json.dumps({"exit": pid, "code": exit_code, "rss": usage.ru_maxrss * 1024}).encode() + b"\n"
        )


def _become_worker(channel: socket.socket, config: dict[str, Any], fds: list[int]) -> None:
    """In the forked child: a new session, its own pipes as stdout/stderr and channel, then the worker.
    Its rlimits are the zygote's, set by the backend exactly as for a spawned worker (fork keeps them,
    and starts its CPU time at zero)."""
    try:
        channel.close()
        os.setsid()
        ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
        request_fd, reply_fd, output_fd, go_fd = fds
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        os.close(output_fd)
        if os.read(go_fd, 1) != b"g":  # the grader has moved it into its own cgroup, or given up on it
            return
        os.close(go_fd)
        os.environ["COURSE_WORKER_CONFIG"] = json.dumps(
            {**config, "request_fd": request_fd, "reply_fd": reply_fd}
        )
        from autograder.worker.server import main as worker_main

        worker_main()
    finally:
        os._exit(0)


# -- the trusted side ------------------------------------------------------------------------------
def preload(files_dir: Path, assets: dict[str, str]) -> list[str]:
    """The heavy libraries the submission imports (read as text, never run), with the names it takes
    from them ("transformers:Trainer"), plus transformers' auto classes when the module has assets
    (the worker loads them with it)."""
    names = {"transformers", "transformers:AutoTokenizer", "transformers:AutoModel"} if assets else set()
    for path in sorted(files_dir.rglob("*.py")):
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError, RecursionError, MemoryError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                package = node.module.split(".")[0]
                names.add(package)
                if package == node.module:
                    names.update(f"{package}:{alias.name}" for alias in node.names if alias.name != "*")
    return sorted(name for name in names if name.partition(":")[0] in HEAVY)


class _Forked:
    """The Popen-like view WorkerProcess needs of a worker that is the zygote's child, not ours."""

    def __init__(self, zygote: Zygote, pid: int, inner_pid: int, stdout: io.BufferedReader) -> None:
        self.zygote, self.pid, self.inner_pid, self.stdout = zygote, pid, inner_pid, stdout
        self.returncode: int | None = None
        self.rss = 0

    def poll(self) -> int | None:
        self.zygote.collect()
        gone = not self.zygote.alive() and not psutil.pid_exists(self.pid)  # no reaper, no status to come
        if self.returncode is None and gone:
            self.returncode = -9
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        while (code := self.poll()) is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("worker", timeout or 0)
            time.sleep(0.01)
        return code


class ForkedRunning(Running):
    """A forked worker in a cgroup of its own: stopping it kills that cgroup, never the zygote."""

    proc: _Forked
    cgroup: Cgroup  # always: Zygote.fork gives up without one

    def __init__(self, child: _Forked, cgroup: Cgroup, limits: Limits) -> None:
        super().__init__(child, cgroup, None, limits)

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        self.cgroup.kill()  # its daemons and forks too: they cannot leave it
        kill_group(self.proc.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=2)
        if self.proc.returncode is None:
            self.proc.returncode = -9
        self.peak_rss = max(self.proc.rss, self.cgroup.peak_memory())
        if self.cgroup.memory_exceeded():
            self.limit_hit = "memory"
        elif self.cgroup.processes_exceeded():
            self.limit_hit = "processes"
        self.cgroup.remove()


def _key(spec: LaunchSpec) -> str:
    """Two specs share a zygote only if they differ in nothing but the worker's own channel."""
    env = {k: v for k, v in spec.env.items() if k != "COURSE_WORKER_CONFIG"}
    return json.dumps([env, sorted(map(str, spec.readonly)), sorted(map(str, spec.writable)), str(spec.cwd),
                       spec.limits.model_dump(mode="json")], sort_keys=True)  # fmt: skip


class Zygote:
    """The trusted side's end of one zygote: starts it through the backend, asks it for workers."""

    def __init__(self, backend: Backend, spec: LaunchSpec) -> None:
        probe = Cgroup.create(spec.limits.memory, spec.limits.processes) if os.geteuid() == 0 else None
        if probe is None:  # known before paying for the zygote's imports (a container, not root)
            raise OSError("no zygote: no cgroups here")
        probe.remove()
        self.key = _key(spec)
        self.children: dict[int, _Forked] = {}
        self._buffer = b""
        ours, theirs = socket.socketpair()
        env = {k: v for k, v in spec.env.items() if k != "COURSE_WORKER_CONFIG"}
        modules = json.loads(spec.env["COURSE_WORKER_CONFIG"])["preload"]  # what every worker imports first
        env |= {"COURSE_ZYGOTE_FD": str(theirs.fileno()), "COURSE_ZYGOTE_PRELOAD": json.dumps(modules)}
        env["JE_ARROW_MALLOC_CONF"] = "background_thread:false"  # pyarrow's (datasets') allocator thread
        zspec = dataclasses.replace(
            spec,
            argv=[sys.executable, *ISOLATED, "-B", "-c", MAIN.format(path=str(package_root()))],
            env=env,
            pass_fds=(theirs.fileno(),),
        )
        self.channel = ours
        try:
            self.job = backend.spawn(zspec)
        finally:
            theirs.close()
        from autograder.worker.client import OutputLog  # (client imports this module)

        self.output = OutputLog(self.job.output, 4096)  # drained, so the zygote never blocks on it
        self.ready = False
        if self.job.cgroup is None:
            self.stop()
            raise OSError("no zygote: no cgroup for it")

    def wait_ready(self) -> None:
        """Wait for the zygote's imports (once): a zygote that never gets there is given up."""
        if not self.ready and self._read(READY_TIMEOUT).get("ready") is not True:
            self.stop()
            raise OSError("no zygote: " + (self.output.text(300) or "it did not start"))
        self.ready = True

    def alive(self) -> bool:
        return self.job.poll() is None

    def _read(self, timeout: float) -> dict[str, Any]:
        """The next message from the zygote, or {} when none comes in time."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            if not select.select([self.channel], [], [], max(deadline - time.monotonic(), 0))[0]:
                return {}
            chunk = self.channel.recv(1 << 16)
            if not chunk:
                return {}
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            message = json.loads(line)
        except ValueError:
            return {}
        return message if isinstance(message, dict) else {}

    def collect(self) -> dict[str, Any]:
        """Apply every exit report waiting; return the first other message."""
        while message := self._read(0):
            if "exit" not in message:
                return message
            self._apply(message)
        return {}

    def _apply(self, message: dict[str, Any]) -> None:
        """An exit report: the child's exit code and peak memory."""
        if "exit" in message and (child := self.children.pop(int(message["exit"]), None)) is not None:
            child.returncode, child.rss = int(message["code"]), int(message["rss"])

    def fork(self, spec: LaunchSpec) -> ForkedRunning:
        """One worker, forked and moved into its own cgroup before it reads its first request."""
        cgroup = Cgroup.create(spec.limits.memory, spec.limits.processes)
        if cgroup is None:
            raise OSError("no cgroup for the forked worker")
        out_r, out_w = os.pipe()
        go_r, go_w = os.pipe()  # the child waits on it until it is in its cgroup
        try:
            config = json.loads(spec.env["COURSE_WORKER_CONFIG"])
            try:
                socket.send_fds(self.channel, [json.dumps(config).encode()], [*spec.pass_fds, out_w, go_r])
            finally:
                os.close(out_w)  # the child's copy is its stdout: ours would keep it from ever ending
                os.close(go_r)
            deadline = time.monotonic() + 10
            reply: dict[str, Any] = {}
            while "pid" not in reply and time.monotonic() < deadline:
                reply = self.collect() or self._read(0.05)
                self._apply(reply)
            inner = int(reply["pid"])
            pid = self._host_pid(inner)
            for folder in cgroup.folders():
                (folder / "cgroup.procs").write_text(str(pid))
            os.write(go_w, b"g")
        except BaseException:
            cgroup.remove()
            with contextlib.suppress(OSError):
                os.close(out_r)
            raise
        finally:
            os.close(go_w)  # unsent, the child reads nothing and exits
        child = _Forked(self, pid, inner, os.fdopen(out_r, "rb"))
        self.children[inner] = child
        return ForkedRunning(child, cgroup, spec.limits)

    def _host_pid(self, inner: int) -> int:
        """The forked child's pid as this process sees it (the zygote may be in a pid namespace)."""
        for proc in psutil.Process(self.job.pid).children(recursive=True):
            try:
                status = Path(f"/proc/{proc.pid}/status").read_text()
            except OSError:
                continue
            nspid = next((line.split()[1:] for line in status.splitlines() if line.startswith("NSpid:")), [])
            if nspid and int(nspid[-1]) == inner:
                return int(proc.pid)  # (psutil is untyped)
        raise OSError(f"the zygote's child {inner} is not among its processes")

    def stop(self) -> None:
        self.channel.close()
        self.job.stop()


def start_zygote(backend: Backend, spec: LaunchSpec) -> Zygote | None:
    """This job's zygote for `spec`: the running one, or one started now. Started ahead of the first
    worker (StudentHandle.prestart), its imports overlap the grader's own set-up."""
    zygote: Zygote | None = backend.zygote
    if zygote is not None and (zygote.key != _key(spec) or not zygote.alive()):
        zygote.stop()  # a restart with other env or hooks gets a zygote of its own
        backend.zygote = zygote = None
    if backend.zygote_failed:
        return None
    if zygote is None:
        try:
            backend.zygote = zygote = Zygote(backend, spec)
        except OSError as exc:
            _give_up(backend, exc)
            return None
    return zygote


def _give_up(backend: Backend, exc: OSError) -> None:
    backend.zygote_failed = True  # not again in this job: every worker would pay for it
    backend.zygote = None
    backend.details["zygote"] = f"off: {exc}"[:200]


def fork_worker(backend: Backend, spec: LaunchSpec) -> Running | None:
    """A worker forked from this job's zygote (started on first use), or None to spawn one cold."""
    zygote = start_zygote(backend, spec)
    if zygote is None:
        return None
    try:
        zygote.wait_ready()
    except OSError as exc:
        _give_up(backend, exc)
        return None
    try:
        forked = zygote.fork(spec)
    except (OSError, KeyError, ValueError, TypeError) as exc:
        zygote.stop()
        backend.zygote = None
        backend.details["zygote"] = f"a fork failed, spawned cold: {exc}"[:200]
        return None
    backend.details.setdefault("zygote", "workers forked from a pre-imported one")
    return forked
