"""The trusted side of the worker boundary: start the worker, send calls, accept only JSON back."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from autograder.config import Limits
from autograder.sandbox import Backend, LaunchSpec, package_root
from autograder.worker.protocol import MAX_MESSAGE, ProtocolError, decode, encode, ref
from autograder.worker.zygote import ISOLATED, fork_worker, preload, start_zygote


class StudentError(Exception):
    """A failure caused by the student's code. Its message is shown to the student as is."""


class StudentTimeout(StudentError):
    pass


class StudentCrash(StudentError):
    pass


class StudentLimit(StudentError):
    """A resource limit from course.yaml was breached."""


def fmt_bytes(n: float) -> str:
    """1073741824 -> "1 GiB", 1610612736 -> "1.5 GiB"."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f}".removesuffix(".0") + f" {unit}"
        n /= 1024
    return f"{n} B"


@dataclass
class WorkerConfig:
    """Everything needed to (re)start a worker for one submission."""

    files_dir: Path
    module_name: str
    scratch: Path
    data: Path | None
    assets: dict[str, str]
    seed: int
    limits: Limits
    backend: Backend
    readonly: list[Path] = field(default_factory=list)
    asset_env: dict[str, str] = field(default_factory=dict)  # the module's assets' `env` (course.yaml)
    extra_env: dict[str, str] = field(default_factory=dict)
    # "autograder.pkg.mod:function" hooks the worker calls before it imports the student's code, e.g.
    # to reach a service a module's fixtures run (see StudentHandle.restart)
    startup: list[str] = field(default_factory=list)


class OutputLog:
    """Drains the worker's stdout so it never blocks. Keeps the first and the last `limit // 2` bytes
    and counts the rest: printing a lot costs no marks, only the middle of what was printed."""

    def __init__(self, stream: io.BufferedIOBase, limit: int) -> None:
        self.half = max(limit // 2, 1)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self.thread.start()

    def _drain(self, stream: io.BufferedIOBase) -> None:
        for chunk in iter(lambda: stream.read1(65536), b""):
            self.total += len(chunk)
            room = self.half - len(self.head)
            if room > 0:
                self.head += chunk[:room]
                chunk = chunk[room:]
            if chunk:
                self.tail += chunk
                if len(self.tail) > 2 * self.half:  # trim now and then: linear in what was printed
                    del self.tail[: len(self.tail) - self.half]

    @property
    def dropped(self) -> int:
        """Bytes printed but not kept."""
        return self.total - len(self.head) - min(len(self.tail), self.half)

    def text(self, last: int = 2000) -> str:
        """The last `last` characters kept, with a note of what was not."""
        kept = self.head + (self.tail[-self.half :] if self.dropped else self.tail)
        if not self.dropped:
            return kept.decode("utf-8", "replace")[-last:]
        tail = self.tail[-self.half :].decode("utf-8", "replace")[-last:]
        return (
            f"[... {fmt_bytes(self.total)} printed in all; "
            f"{fmt_bytes(self.dropped)} of the middle not kept ...]\n{tail}"
        )


def folder_size(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


# Errors raised inside the student's code that mean a resource limit, by what the message says.
LIMIT_SIGNS = {
    "processes": (
        "BlockingIOError: [Errno 11]",
        "can't start new thread",
        "Resource temporarily unavailable",
    ),
    "disk": ("[Errno 28]", "[Errno 27]", "No space left on device", "File too large"),
    "memory": ("MemoryError", "can't allocate memory", "std::bad_alloc", "Cannot allocate memory"),
}


# The worker imports this very autograder package (the one the sandbox binds), not whatever
# an isolated interpreter would find first.
WORKER_MAIN = "import sys; sys.path.insert(0, {path!r}); from autograder.worker.server import main; main()"


def launch_spec(cfg: WorkerConfig, fds: tuple[int, int] | None = None) -> LaunchSpec:
    """How a worker for `cfg` is launched; `fds` are its request and reply pipes (a zygote started
    ahead of its first worker has none: it is handed each worker's pipes when it forks one)."""
    request_fd, reply_fd = fds or (None, None)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(cfg.scratch),
        "TMPDIR": str(cfg.scratch),
        "USER": "student",
        "LOGNAME": "student",
        "HF_HOME": str(cfg.scratch / ".hf"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "MPLBACKEND": "Agg",
        "PYTHONHASHSEED": str(cfg.seed),
        "PYTHONUNBUFFERED": "1",
        "LANG": "C.UTF-8",
        # Oversubscribed OpenMP threads thrash: on a shared 2-core machine one training step went
        # from 5 s to 24-70 s with 2 threads per worker. The module's limit decides.
        "OMP_NUM_THREADS": str(cfg.limits.threads),
        "MKL_NUM_THREADS": str(cfg.limits.threads),
        "COURSE_WORKER_CONFIG": json.dumps(
            {
                "files_dir": str(cfg.files_dir),
                "module_name": cfg.module_name,
                "assets": cfg.assets,
                "scratch": str(cfg.scratch),
                "data": str(cfg.data) if cfg.data else None,
                "seed": cfg.seed,
                "startup": cfg.startup,
                "preload": preload(cfg.files_dir, cfg.assets),
                "request_fd": request_fd,
                "reply_fd": reply_fd,
            }
        ),
        **cfg.asset_env,
        **cfg.extra_env,
    }
    return LaunchSpec(
        argv=[sys.executable, *ISOLATED, "-B", "-c", WORKER_MAIN.format(path=str(package_root()))],
        env=env,
        pass_fds=fds or (),
        limits=cfg.limits,
        cwd=cfg.scratch,
        readonly=[cfg.files_dir, *cfg.readonly],
        writable=[cfg.scratch],
    )


class WorkerProcess:
    """One running worker. Dies with the first timeout or breached limit; the handle starts a new one."""

    POLL = 0.25  # seconds between checks of the output, disk and process while a call runs

    def __init__(self, cfg: WorkerConfig) -> None:
        self.cfg = cfg
        req_r, self._req_w = os.pipe()
        self._rep_r, rep_w = os.pipe()
        spec = launch_spec(cfg, (req_r, rep_w))
        try:
            forked = cfg.limits.zygote and fork_worker(cfg.backend, spec)
            self.job = forked or cfg.backend.spawn(spec)
        except BaseException:
            os.close(self._req_w)
            os.close(self._rep_r)
            raise
        finally:
            os.close(req_r)
            os.close(rep_w)
        self.output = OutputLog(self.job.output, cfg.limits.output)
        self._next_id = 0
        self._buffer = b""

    def request(self, message: dict[str, Any], timeout: float, what: str) -> dict[str, Any]:
        """Send one call; wait for its reply while watching the limits. `what` ("calling f()") ends
        every message about a breached limit."""
        self._next_id += 1
        message = {**message, "id": self._next_id}
        try:
            os.write(self._req_w, encode(message))
        except BrokenPipeError:
            raise StudentCrash(self._death_message(what)) from None
        deadline = time.monotonic() + timeout
        line = self._read_line(deadline, timeout, what)
        try:
            reply = decode(line)
        except ProtocolError as exc:
            self.stop()
            raise StudentCrash(
                f"the worker sent a malformed reply while {what} ({exc}); "
                "did your code write to file descriptors it does not own?"
            ) from None
        if reply.get("id") != message["id"]:
            self.stop()
            raise StudentCrash(
                f"the worker's reply did not match the call while {what}; "
                "did your code write to the grader's channel?"
            )
        if problem := self._limit_problem(what):  # flooded the output or wrote too much, then returned
            self.stop()
            raise StudentLimit(problem)
        return reply

    def _read_line(self, deadline: float, timeout: float, what: str) -> bytes:
        """The next reply line, read in linear time; refused as soon as it outgrows MAX_MESSAGE."""
        chunks: list[bytes] = []
        size = 0
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line, self._buffer = self._buffer[:end], self._buffer[end + 1 :]
                return b"".join([*chunks, line])
            chunks.append(self._buffer)
            size += len(self._buffer)
            self._buffer = b""
            if size > MAX_MESSAGE:
                self.stop()
                raise StudentLimit(
                    f"your code sent back more than {fmt_bytes(MAX_MESSAGE)} of data while {what}: "
                    "return a summary (numbers, short lists), not whole tensors or datasets"
                )
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                raise StudentTimeout(f"your code did not finish within {timeout:.0f} s while {what}")
            if problem := self._limit_problem(what):
                self.stop()
                raise StudentLimit(problem)
            ready, _, _ = select.select([self._rep_r], [], [], min(left, self.POLL))
            if ready:
                self._buffer = os.read(self._rep_r, 1 << 20)
                if (
                    not self._buffer
                ):  # the worker closed its end: let it finish dying, so its status is its own
                    try:
                        self.job.proc.wait(timeout=2)
                    except subprocess.TimeoutExpired:
                        pass
                    self.stop()
                    raise StudentCrash(self._death_message(what))
            elif self.job.poll() is not None:
                self.stop()
                raise StudentCrash(self._death_message(what))

    def _limit_problem(self, what: str) -> str | None:
        limits = self.cfg.limits
        if self.output.total > limits.output_flood:
            return (
                f"your code printed more than {fmt_bytes(limits.output_flood)} of output while {what}; "
                "the grader stopped it, since printing that much would use up the time for grading"
            )
        if folder_size(self.cfg.scratch) > limits.disk:
            return f"your code wrote more than {fmt_bytes(limits.disk)} to disk while {what}"
        return None

    def limit_message(self, kind: str, what: str) -> str:
        limits = self.cfg.limits
        return {
            "memory": f"your code used more than {fmt_bytes(limits.memory)} of memory while {what}",
            "processes": f"your code started more than {limits.processes} processes or threads while {what}",
            "disk": f"your code wrote more than {fmt_bytes(limits.disk)} to disk while {what}",
        }[kind]

    def _death_message(self, what: str) -> str:
        code = self.job.poll()
        if code is None:
            return f"the worker stopped answering while {what}"
        self.stop()
        if self.job.limit_hit:
            return self.limit_message(self.job.limit_hit, what)
        if 128 < code < 160:  # a shell or bwrap in between reports a death by signal N as 128 + N
            code = 128 - code
        if code == -signal.SIGKILL and self.job.cgroup is None:  # RLIMIT_AS kills look like this
            return (
                f"your code was killed while {what}: it probably used more than "
                f"{fmt_bytes(self.cfg.limits.memory)} of memory"
            )
        if code == -signal.SIGXCPU:
            return f"your code used more than {self.cfg.limits.cpu:.0f} s of CPU time while {what}"
        if code == -signal.SIGXFSZ:
            return self.limit_message("disk", what)
        if code < 0:
            return f"your code crashed with signal {signal.Signals(-code).name} while {what}"
        return (
            f"your code made the worker exit with status {code} while {what} (sys.exit or os._exit?); "
            "return a value instead"
        )

    @property
    def peak_rss(self) -> int:
        return self.job.peak_rss

    def stop(self) -> None:
        """Kill the worker and everything it started; record its peak memory."""
        self.job.stop()
        for fd in (self._req_w, self._rep_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.output.thread.join(timeout=2)
        if not self.output.thread.is_alive():
            self.job.output.close()


class Measured(NamedTuple):
    value: Any
    peak_bytes: int  # the worker's peak memory, as the sandbox or the OS accounts it
    seconds: float  # inside the call, as the worker timed it


class StudentHandle:
    """What hidden tests use to reach the student's code. Every value that comes back is plain JSON."""

    def __init__(self, cfg: WorkerConfig, problem: str | None = None, deadline: float | None = None) -> None:
        self.cfg = cfg
        self.problem = problem  # set when the submission could not be taken in at all
        self.deadline = deadline
        self._worker: WorkerProcess | None = None
        self.peak_rss = 0
        self.calls = 0
        self.called: set[str] = set()  # student functions called; the plugin keeps them per test
        self.student_seconds = 0.0  # inside student calls, as the worker timed them
        self.import_seconds = 0.0  # importing the student's files, summed over worker restarts
        self.start_seconds = 0.0  # starting workers until their import is done, summed (a benchmark's split)
        self.output_printed = 0  # bytes the student's code printed, over every worker
        self.output_dropped = 0  # of which not kept (the middle of a long output)

    # references the worker resolves on its own side
    def tokenizer(self, asset: str, **kwargs: Any) -> dict[str, Any]:
        return ref("tokenizer", name=asset, kwargs=kwargs)

    def model(self, asset: str, cls: str = "AutoModel", train: bool = False, **kwargs: Any) -> dict[str, Any]:
        """A fresh `cls.from_pretrained(asset, **kwargs)`, in eval mode unless `train` (to test that code
        sets it)."""
        return ref("model", name=asset, cls=cls, train=train, kwargs=kwargs)

    def asset(self, asset: str) -> dict[str, Any]:
        return ref("asset", name=asset)

    def data(self, rel: str = "") -> dict[str, Any]:
        return ref("data", rel=rel)

    def scratch(self, rel: str = "") -> dict[str, Any]:
        return ref("scratch", rel=rel)

    def scratch_path(self, rel: str = "") -> Path:
        """The trusted side's view of a path the worker wrote under scratch."""
        path = (self.cfg.scratch / rel).resolve()
        if not path.is_relative_to(self.cfg.scratch.resolve()):
            raise ValueError(f"{rel!r} leaves the scratch folder")
        return path

    def prestart(self) -> None:
        """With `limits.zygote`, start the pre-imported worker now: its imports then run while the
        grader sets itself up, and the first worker is a fork instead of a wait."""
        if self.cfg.limits.zygote and not self.problem:
            start_zygote(self.cfg.backend, launch_spec(self.cfg))

    def call(self, fn: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """Run the student's `fn(*args, **kwargs)` in the worker; return its plain-JSON result."""
        return self._call(fn, args, kwargs, timeout)

    def call_with_global_seed(
        self, global_seed: int, fn: str, *args: Any, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        """call(), with Python's, NumPy's and torch's global generators seeded to `global_seed` instead of
        the grading's seed (as before every call). A function that seeds what it uses from its own `seed`
        argument gives the same result under any `global_seed`; one that forgot does not."""
        return self._call(fn, args, kwargs, timeout, int(global_seed))

    def constant(self, name: str) -> Any:
        """A module-level setting of the student's file, such as their LEARNING_RATE (plain JSON)."""
        return self._call(name, (), {}, None, constant=True)

    def call_and_save(
        self, fn: str, *args: Any, into: str, timeout: float | None = None, **kwargs: Any
    ) -> Path:
        """call(), for a function that returns a model, an adapter or a tokenizer: the worker saves it
        with its own save_pretrained() into the scratch folder `into`, whose trusted-side path comes
        back, to read as data (load_saved_adapter, load_saved_model). The object never crosses."""
        self._call(fn, args, kwargs, timeout, save_to=self.scratch(into))
        return self.scratch_path(into)

    def _call(
        self,
        fn: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        timeout: float | None,
        global_seed: int | None = None,
        constant: bool = False,
        save_to: dict[str, Any] | None = None,
    ) -> Any:
        if not constant:
            self.called.add(fn)
        if self.problem:
            raise StudentError(self.problem)
        timeout = timeout or self.cfg.limits.call
        if self._worker is None:
            started = time.perf_counter()
            self._worker = WorkerProcess(self.cfg)
            self._ask({"op": "load"}, timeout, f"importing {self.cfg.module_name}.py")
            self.start_seconds += time.perf_counter() - started
        self.calls += 1
        request: dict[str, Any] = {"op": "call", "fn": fn, "args": args, "kwargs": kwargs}
        if global_seed is not None:
            request["global_seed"] = global_seed
        if constant:
            request["constant"] = True
        if save_to is not None:
            request["save_to"] = save_to
        reply = self._ask(request, timeout, f"reading {fn}" if constant else f"calling {fn}()")
        if reply.get("ok"):
            self.student_seconds += float(reply.get("seconds") or 0.0)
            self.import_seconds += float(reply.get("import_seconds") or 0.0)
            return reply.get("value")
        error = str(reply.get("error", "unknown error"))
        note = self._output_note()
        kind = (
            "memory"
            if reply.get("kind") == "memory"
            else next(
                (
                    k
                    for k, signs in LIMIT_SIGNS.items()
                    if reply.get("kind") == "raised" and any(s in error for s in signs)
                ),
                None,
            )
        )
        if kind is None:
            raise StudentError(error + note)
        message = self._worker.limit_message(kind, f"calling {fn}()")
        self._retire()  # a worker at its limits is in no state to answer the next test
        raise StudentLimit(f"{message[:1].upper()}{message[1:]}.\n({error.splitlines()[0]}){note}")

    def call_alone(self, fn: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Measured:
        """Run one call in a fresh worker of its own, so that its peak memory is the call's alone."""
        self.close()  # one worker at a time: the uid sandbox stops a worker with every process of its user
        alone = StudentHandle(self.cfg, problem=self.problem, deadline=self.deadline)
        try:
            value = alone.call(fn, *args, timeout=timeout, **kwargs)
        finally:
            alone.close()  # the peak is read when the worker is stopped
            self.problem = self.problem or alone.problem  # an import that hung will hang again
            self.peak_rss = max(self.peak_rss, alone.peak_rss)
            self.output_printed += alone.output_printed
            self.output_dropped += alone.output_dropped
            self.calls += alone.calls
            self.called |= alone.called
            self.student_seconds += alone.student_seconds
            self.import_seconds += alone.import_seconds
            self.start_seconds += alone.start_seconds
        return Measured(value, alone.peak_rss, alone.student_seconds)

    def restart(self, env: dict[str, str] | None = None, startup: list[str] | None = None) -> None:
        """Stop the worker; the next call starts one with these extra environment variables and
        startup hooks ("autograder.module:function", run before the student's code is imported).
        A module's fixtures use it to offer a service to the student's code, and `restart()` with
        no arguments to take it away again (see assignments/m10-sharing/hidden/conftest.py)."""
        for hook in startup or []:
            if not hook.startswith("autograder.") or ":" not in hook:
                raise ValueError(f"startup hook {hook!r} must name a function of the autograder package")
        self.close()
        self.cfg = dataclasses.replace(self.cfg, extra_env=dict(env or {}), startup=list(startup or []))

    def _ask(self, message: dict[str, Any], timeout: float, what: str) -> dict[str, Any]:
        """One request within the call's and the job's time; a breach retires the worker. An import
        that outlives its time fails every later call at once, instead of eating the job's budget."""
        if self.problem:
            raise StudentError(self.problem)
        left = self._time_left()
        if left <= 0:
            raise StudentTimeout(
                f"The {self.cfg.limits.wall:.0f} s time limit for grading this submission "
                "was used up before this test."
            )
        worker = self._worker
        assert worker is not None, "call() starts a worker before it asks anything"
        try:
            return worker.request(message, min(timeout, left), what)
        except StudentTimeout:
            note = self._output_note()
            self._retire()
            if left < timeout:
                raise StudentTimeout(
                    f"The {self.cfg.limits.wall:.0f} s time limit for grading this submission "
                    f"ran out while {what}.{note}"
                ) from None
            if message["op"] == "load":
                self.problem = (
                    f"Importing {self.cfg.module_name}.py did not finish within {timeout:.0f} s. "
                    "Importing your file should only define functions: move experiments and "
                    'training under `if __name__ == "__main__":`.'
                )
                raise StudentTimeout(self.problem + note) from None
            raise StudentTimeout(
                f"Your code did not finish within {timeout:.0f} s while {what}.{note}"
            ) from None
        except StudentError as exc:
            note = self._output_note()
            self._retire()
            raise type(exc)(f"{str(exc)[:1].upper()}{str(exc)[1:]}.{note}") from None

    def _time_left(self) -> float:
        return float("inf") if self.deadline is None else self.deadline - time.monotonic()

    def _output_note(self) -> str:
        tail = self._worker.output.text(800).strip() if self._worker else ""
        return f"\n\nThe last lines your code printed:\n{tail}" if tail else ""

    def _retire(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self.peak_rss = max(self.peak_rss, self._worker.peak_rss)
            self.output_printed += self._worker.output.total
            self.output_dropped += self._worker.output.dropped
            self._worker = None

    def close(self) -> None:
        self._retire()
