"""The trusted side of the worker boundary: start the worker, send calls, accept only JSON back."""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.config import Limits
from autograder.sandbox import LaunchSpec, ProcessGroupBackend
from autograder.worker.protocol import ProtocolError, decode, encode, ref


class StudentError(Exception):
    """A failure caused by the student's code. Its message is shown to the student as is."""


class StudentTimeout(StudentError):
    pass


class StudentCrash(StudentError):
    pass


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
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
    backend: ProcessGroupBackend
    readonly: list[Path] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)


class OutputTail:
    """Drains the worker's stdout so it never blocks; keeps at most `limit` bytes of it."""

    def __init__(self, stream, limit: int) -> None:
        self.limit = limit
        self.kept = bytearray()
        self.dropped = 0
        self.thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self.thread.start()

    def _drain(self, stream) -> None:
        for chunk in iter(lambda: stream.read1(65536), b""):
            room = self.limit - len(self.kept)
            self.kept += chunk[: max(room, 0)]
            self.dropped += max(len(chunk) - max(room, 0), 0)

    def text(self, last: int = 2000) -> str:
        text = self.kept.decode("utf-8", "replace")[-last:]
        if self.dropped:
            text += f"\n[... {self.dropped} more bytes of output were discarded]"
        return text


class WorkerProcess:
    """One running worker. Dies with the first timeout or crash; the handle starts a new one."""

    def __init__(self, cfg: WorkerConfig) -> None:
        self.cfg = cfg
        req_r, self._req_w = os.pipe()
        self._rep_r, rep_w = os.pipe()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(cfg.scratch), "TMPDIR": str(cfg.scratch),
            "HF_HOME": str(cfg.scratch / ".hf"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false",
            "MPLBACKEND": "Agg", "PYTHONHASHSEED": str(cfg.seed), "PYTHONUNBUFFERED": "1",
            "LANG": "C.UTF-8",
            "COURSE_WORKER_CONFIG": json.dumps({
                "files_dir": str(cfg.files_dir), "module_name": cfg.module_name, "assets": cfg.assets,
                "scratch": str(cfg.scratch), "data": str(cfg.data) if cfg.data else None, "seed": cfg.seed,
                "request_fd": req_r, "reply_fd": rep_w,
            }),
            **cfg.extra_env,
        }
        spec = LaunchSpec(
            argv=[sys.executable, "-I", "-B", "-m", "autograder.worker.server"], env=env,
            pass_fds=(req_r, rep_w), limits=cfg.limits, cwd=cfg.scratch,
            readonly=[cfg.files_dir, *cfg.readonly], writable=[cfg.scratch],
        )
        self.proc = cfg.backend.spawn(spec)
        os.close(req_r)
        os.close(rep_w)
        self.output = OutputTail(self.proc.stdout, cfg.limits.output)
        self.peak_rss = 0
        self._next_id = 0
        self._buffer = b""

    def request(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        self._next_id += 1
        message = {**message, "id": self._next_id}
        try:
            os.write(self._req_w, encode(message))
        except BrokenPipeError:
            raise StudentCrash(self._death_message()) from None
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                raise StudentTimeout(f"did not finish within {timeout:.0f} s")
            ready, _, _ = select.select([self._rep_r], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(self._rep_r, 1 << 20)
                if not chunk:
                    self.stop()
                    raise StudentCrash(self._death_message())
                self._buffer += chunk
            elif self.proc.poll() is not None:
                self.stop()
                raise StudentCrash(self._death_message())
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            reply = decode(line)
        except ProtocolError as exc:
            self.stop()
            raise StudentCrash(f"the worker sent a malformed reply ({exc}); did your code write to file descriptors it does not own?") from None
        if reply.get("id") != message["id"]:
            self.stop()
            raise StudentCrash("the worker's reply did not match the call; did your code write to the grader's channel?")
        return reply

    def _death_message(self) -> str:
        code = self.proc.poll()
        if code is None:
            return "the worker stopped answering"
        if code == -signal.SIGKILL or code == 137:
            return (f"was killed: it probably used more than the {_fmt_bytes(self.cfg.limits.memory)} memory limit"
                    " (or another resource limit)")
        if code == -signal.SIGXCPU:
            return f"used more than the {self.cfg.limits.cpu:.0f} s CPU-time limit"
        if code == -signal.SIGXFSZ:
            return f"wrote more than the {_fmt_bytes(self.cfg.limits.disk)} disk limit"
        if code < 0:
            return f"crashed with signal {signal.Signals(-code).name}"
        return f"made the worker exit with status {code} (sys.exit or os._exit?); return a value instead"

    def stop(self) -> None:
        """Kill the worker and everything it started; record its peak memory."""
        if self.proc.returncode is None:
            self.cfg.backend.kill(self.proc)
            try:
                _, status, usage = os.wait4(self.proc.pid, 0)
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                self.peak_rss = max(self.peak_rss, usage.ru_maxrss * 1024)
            except ChildProcessError:
                self.proc.wait()
        for fd in (self._req_w, self._rep_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.output.thread.join(timeout=2)


class StudentHandle:
    """What hidden tests use to reach the student's code. Every value that comes back is plain JSON."""

    def __init__(self, cfg: WorkerConfig, problem: str | None = None, deadline: float | None = None) -> None:
        self.cfg = cfg
        self.problem = problem  # set when the submission could not be taken in at all
        self.deadline = deadline
        self._worker: WorkerProcess | None = None
        self.peak_rss = 0
        self.calls = 0

    # references the worker resolves on its own side
    def tokenizer(self, asset: str, **kwargs: Any) -> dict[str, Any]:
        return ref("tokenizer", name=asset, kwargs=kwargs)

    def model(self, asset: str, cls: str = "AutoModel", train: bool = False, **kwargs: Any) -> dict[str, Any]:
        """A fresh `cls.from_pretrained(asset, **kwargs)`, in eval mode unless `train` (to test that code sets it)."""
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

    def call(self, fn: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """Run the student's `fn(*args, **kwargs)` in the worker; return its plain-JSON result."""
        if self.problem:
            raise StudentError(self.problem)
        timeout = min(timeout or self.cfg.limits.call, self._time_left())
        if timeout <= 0:
            raise StudentTimeout("the time limit for grading this submission was used up before this test")
        if self._worker is None:
            self._worker = WorkerProcess(self.cfg)
        self.calls += 1
        try:
            reply = self._worker.request({"op": "call", "fn": fn, "args": args, "kwargs": kwargs}, timeout)
        except StudentError as exc:
            note = self._output_note()
            self._retire()
            raise type(exc)(f"calling {fn}(): your code {exc}{note}") from None
        if not reply.get("ok"):
            note = self._output_note()
            if reply.get("kind") == "memory":
                self._retire()
            raise StudentError(str(reply.get("error", "unknown error")) + note)
        return reply.get("value")

    def _time_left(self) -> float:
        return float("inf") if self.deadline is None else self.deadline - time.monotonic()

    def _output_note(self) -> str:
        tail = self._worker.output.text(800).strip() if self._worker else ""
        return f"\n\nThe last lines your code printed:\n{tail}" if tail else ""

    def _retire(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self.peak_rss = max(self.peak_rss, self._worker.peak_rss)
            self._worker = None

    def close(self) -> None:
        self._retire()
