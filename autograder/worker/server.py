"""The student-side worker: imports the student's files and answers calls with plain JSON values.

This process is untrusted as soon as it imports student code. It talks to the trusted grader
only through two pipes; whatever it sends back is checked there.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import json
import os
import pickle
import random
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from autograder.worker.protocol import MAX_MESSAGE, REF, decode, encode, is_ref, to_plain


class LentTokenizer:
    """A tokenizer every call receives as loaded, for a fraction of a copy's cost. Loading SmolLM2's
    takes ~1 s and a deep copy ~0.6 s (rebuilding the Rust tokenizer); its state (the Rust side's
    JSON and the Python attributes) takes ~0.1 s to read. So each call gets the same instance and,
    after the call, that state is compared with the pristine one: only a call that changed it
    (added tokens, truncation, padding side...) costs a fresh copy for the next."""

    def __init__(self, tokenizer: Any) -> None:
        self.pristine = tokenizer  # never handed out
        backend = getattr(tokenizer, "backend_tokenizer", None)
        # transformers sets these on the Rust side at every __call__ and leaves them: put back, not copied
        self.truncation = backend.truncation if backend is not None else None
        self.padding = backend.padding if backend is not None else None
        self.state = self._state(tokenizer)
        self.current: Any = None
        self.lent = False

    def _restore_settings(self, tokenizer: Any) -> None:
        backend = getattr(tokenizer, "backend_tokenizer", None)
        if backend is None:
            return
        if self.truncation is None:
            backend.no_truncation()
        else:
            backend.enable_truncation(**self.truncation)
        if self.padding is None:
            backend.no_padding()
        else:
            backend.enable_padding(**self.padding)

    @staticmethod
    def _state(tokenizer: Any) -> bytes | None:
        """Everything a call could change, or None if it cannot be read (then every call gets a copy)."""
        try:
            rest = {k: v for k, v in vars(tokenizer).items() if k != "_tokenizer"}
            backend = tokenizer.backend_tokenizer.to_str() if hasattr(tokenizer, "backend_tokenizer") else ""
            return backend.encode() + b"\0" + pickle.dumps(rest)
        except Exception:  # noqa: BLE001 - any unreadable state only means copying every time
            return None

    def lend(self) -> Any:
        if self.current is None:
            self.current = copy.deepcopy(self.pristine)
        self.lent = True
        return self.current

    def settle(self) -> None:
        """After a call: keep the lent instance only if it is exactly as loaded."""
        if self.lent:
            try:
                self._restore_settings(self.current)
            except Exception:  # noqa: BLE001 - a backend the student replaced: a copy next time
                self.current = None
            if self.current is not None and (self.state is None or self._state(self.current) != self.state):
                self.current = None
        self.lent = False


class Worker:
    def __init__(self, config: dict[str, Any]) -> None:
        self.files_dir = Path(config["files_dir"])
        self.module_name: str = config["module_name"]
        self.assets: dict[str, str] = config["assets"]
        self.scratch = Path(config["scratch"])
        self.data = Path(config["data"]) if config.get("data") else None
        self.seed: int = config["seed"]
        self.module: ModuleType | None = None
        self.import_error: str | None = None
        self._tokenizers: dict[str, LentTokenizer] = {}
        self.import_seconds = 0.0

    # -- loading the student's code -------------------------------------------------------------
    def load(self) -> None:
        if self.module is not None or self.import_error is not None:
            return
        sys.path.insert(0, str(self.files_dir))
        # In-process (the reference), an earlier grading's module of the same name may be imported already.
        stale = sys.modules.get(self.module_name)
        if stale is not None and Path(getattr(stale, "__file__", None) or "").parent != self.files_dir:
            del sys.modules[self.module_name]
        self._seed()
        started = time.perf_counter()
        try:
            self.module = importlib.import_module(self.module_name)
            self.import_seconds = time.perf_counter() - started
        except SyntaxError as exc:
            where = f"{Path(exc.filename or '').name}, line {exc.lineno}"
            self.import_error = f"{where}: syntax error: {exc.msg}"
        except BaseException as exc:  # noqa: BLE001 - anything the student's import does is reported
            self.import_error = (
                f"importing {self.module_name}.py raised {type(exc).__name__}: {exc}\n"
                + self._student_trace(exc)
            )

    def _student_trace(self, exc: BaseException) -> str:
        """The traceback frames that belong to the student's files, none of the grader's."""
        frames = [
            f for f in traceback.extract_tb(exc.__traceback__) if str(self.files_dir) in (f.filename or "")
        ]
        lines = traceback.format_list(frames[-6:])
        return "".join(line.replace(str(self.files_dir) + os.sep, "") for line in lines).rstrip()

    def _seed(self, seed: int | None = None) -> None:
        """The global generators, seeded to the grading's seed (or the one a test asks for)."""
        seed = self.seed if seed is None else seed
        random.seed(seed)
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed(seed)
        if "torch" in sys.modules:
            sys.modules["torch"].manual_seed(seed)

    # -- resolving references ---------------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        if is_ref(value):
            return self._resolve_ref(value)
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value

    def _resolve_ref(self, value: dict[str, Any]) -> Any:
        kind = value[REF]
        if kind == "scratch":
            path = self.scratch / value.get("rel", "")
            path.parent.mkdir(parents=True, exist_ok=True)
            return str(path)
        if kind == "data":
            if self.data is None:
                raise RuntimeError("this module has no data folder")
            return str(self.data / value.get("rel", ""))
        path = self.assets[value["name"]]
        if kind == "asset":
            return path
        import transformers  # only now: a pure-Python module never pays for importing it

        kwargs = value.get("kwargs", {})
        if kind == "tokenizer":
            key = json.dumps([path, kwargs], sort_keys=True)
            if key not in self._tokenizers:
                self._tokenizers[key] = LentTokenizer(
                    transformers.AutoTokenizer.from_pretrained(path, **kwargs)
                )
            return self._tokenizers[key].lend()
        if kind == "model":
            model = getattr(transformers, value.get("cls", "AutoModel")).from_pretrained(path, **kwargs)
            return model.train() if value.get("train") else model.eval()
        raise ValueError(f"unknown reference kind {kind!r}")

    # -- answering one call -----------------------------------------------------------------------
    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            return self._answer(request)
        finally:
            for tokenizer in self._tokenizers.values():
                tokenizer.settle()

    def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        fn_name = request["fn"]
        self.load()
        if self.import_error:
            return {"ok": False, "kind": "import", "error": self.import_error}
        if request.get("constant"):
            return self._constant(fn_name)
        fn = getattr(self.module, fn_name, None)
        if fn is None:
            return {
                "ok": False,
                "kind": "missing",
                "error": f"{self.module_name}.py has no function named {fn_name}()",
            }
        if not callable(fn):
            return {
                "ok": False,
                "kind": "missing",
                "error": f"{fn_name} in {self.module_name}.py is a {type(fn).__name__}, not a function",
            }
        # Seeded before the models a test hands over are built too: a new head starts the same for
        # the student and the reference. Then again, so that every call starts from the same state.
        self._seed(request.get("global_seed"))
        args = self.resolve(request.get("args", []))
        kwargs = self.resolve(request.get("kwargs", {}))
        self._seed(request.get("global_seed"))
        started = time.perf_counter()
        try:
            value = fn(*args, **kwargs)
        except NotImplementedError:
            return {
                "ok": False,
                "kind": "todo",
                "error": f"{fn_name}() is not written yet: it still raises NotImplementedError",
            }
        except MemoryError:
            return {"ok": False, "kind": "memory", "error": f"{fn_name}() ran out of memory"}
        except SystemExit as exc:
            return {
                "ok": False,
                "kind": "exit",
                "error": f"{fn_name}() called sys.exit({exc.code!r}); return a value instead",
            }
        except BaseException as exc:  # noqa: BLE001 - the student's exception is the answer
            return {
                "ok": False,
                "kind": "raised",
                "error": (
                    f"{fn_name}() raised {type(exc).__name__}: {exc}\n{self._student_trace(exc)}".rstrip()
                ),
            }
        if "save_to" in request:
            saved = self._save(fn_name, value, self.resolve(request["save_to"]))
            if saved is not None:
                return saved
            value = None  # the object stays here: the trusted side reads the saved folder
        seconds = time.perf_counter() - started
        import_seconds, self.import_seconds = self.import_seconds, 0.0  # reported once per worker
        try:
            return {
                "ok": True,
                "value": to_plain(value, f"the value {fn_name}() returned"),
                "seconds": seconds,
                "import_seconds": import_seconds,
            }
        except (TypeError, RecursionError) as exc:
            return {"ok": False, "kind": "notplain", "error": str(exc)}

    def _save(self, fn_name: str, value: Any, folder: str) -> dict[str, Any] | None:
        """Save what `fn_name` returned with its save_pretrained() (None), or the error reply."""
        save = getattr(value, "save_pretrained", None)
        if not callable(save):
            return {
                "ok": False,
                "kind": "notplain",
                "error": (
                    f"{fn_name}() must return a model (with save_pretrained()); "
                    f"it returned {type(value).__name__}"
                ),
            }
        try:
            save(folder)
        except BaseException as exc:  # noqa: BLE001 - the student's object failed to save
            return {
                "ok": False,
                "kind": "raised",
                "error": f"saving what {fn_name}() returned raised {type(exc).__name__}: {exc}",
            }
        return None

    def _constant(self, name: str) -> dict[str, Any]:
        """A module-level setting of the student's file (their LEARNING_RATE), as plain JSON."""
        if name.startswith("_") or not hasattr(self.module, name):
            return {
                "ok": False,
                "kind": "missing",
                "error": f"{self.module_name}.py has no setting named {name}",
            }
        try:
            return {
                "ok": True,
                "value": to_plain(getattr(self.module, name), f"{name} in {self.module_name}.py"),
            }
        except (TypeError, RecursionError) as exc:
            return {"ok": False, "kind": "notplain", "error": str(exc)}


def preimport(names: list[str]) -> None:
    """Import the heavy libraries the submission uses ("transformers:Trainer": a lazy module's name),
    their import-time chatter discarded. A zygote imports them where nobody reads its output, so a
    cold worker must not print it either: the same submission's output, which failure messages
    quote, must not depend on whether a zygote served it (in a container there is none)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    try:
        for name in names:
            package, _, attribute = name.partition(":")
            with contextlib.suppress(Exception):
                module = importlib.import_module(package)
                if attribute:  # importing a lazy module's name is the cost
                    getattr(module, attribute)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (devnull, *saved):
            os.close(fd)


def main() -> None:
    config = json.loads(os.environ.pop("COURSE_WORKER_CONFIG"))
    preimport(config.get("preload", []))  # a no-op in a zygote's child: it has them already
    for hook in config.get(
        "startup", []
    ):  # the grader's own hooks (StudentHandle.restart), before student code
        module, _, function = hook.partition(":")
        getattr(importlib.import_module(module), function)()
    requests = os.fdopen(config["request_fd"], "rb", buffering=0)
    replies = os.fdopen(config["reply_fd"], "wb", buffering=0)
    worker = Worker(config)
    for line in iter(requests.readline, b""):
        request = decode(line)
        if request.get("op") == "ping":
            reply = {"ok": True, "value": "pong"}
        elif request.get("op") == "load":  # import the student's files now, on the clock of their own
            worker.load()
            reply = {"ok": True}
        else:
            reply = worker.call(request)
        reply["id"] = request.get("id")
        try:
            data = encode(reply)
        except (TypeError, ValueError) as exc:
            data = encode({"id": request.get("id"), "ok": False, "kind": "notplain", "error": str(exc)})
        if len(data) > MAX_MESSAGE:  # said here, in a few bytes, rather than refused on the grader's side
            data = encode(
                {
                    "id": request.get("id"),
                    "ok": False,
                    "kind": "toolarge",
                    "error": (
                        f"the value {request.get('fn')}() returned is {len(data) / 1024**2:.0f} MiB as JSON, "
                        f"more than the {MAX_MESSAGE // 1024**2} MiB the grader accepts: "
                        "return a summary, not whole tensors or datasets"
                    ),
                }
            )
        sys.stdout.flush()
        sys.stderr.flush()
        replies.write(data)


if __name__ == "__main__":
    main()
