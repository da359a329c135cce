"""The reference solution as a handle with the student's API, run in the trusted process.

Graders compare `student.call(...)` with `reference.call(...)` on hidden inputs. The reference is
the instructor's own code, so it runs in-process; its values still go through JSON so both sides
are compared as the same kind of data.

The reference gives the same answer to the same question for as long as nothing that decides it
changes, so its answers are cached on disk (`Layout.reference_cache`), keyed by everything that
does: the grader version (tests, data, reference, framework), the assets, the libraries, the seed
and the call itself. A class of 300 pays for the reference's generation or evaluation once, not
300 times. A call is answered from the cache only when it cannot have side effects the test
relies on: none of its arguments is a scratch folder or an absolute path (where it could write).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from autograder.worker.client import StudentHandle
from autograder.worker.protocol import REF, is_ref
from autograder.worker.server import Worker


def _pure(value: Any) -> bool:
    """No argument through which the reference could write what a test later reads."""
    if is_ref(value):
        return bool(value[REF] != "scratch")
    if isinstance(value, str):
        return not os.path.isabs(value)
    if isinstance(value, list):
        return all(_pure(v) for v in value)
    if isinstance(value, dict):
        return all(_pure(v) for v in value.values())
    return True


class ReferenceHandle:
    def __init__(
        self,
        files_dir: Path,
        module_name: str,
        assets: dict[str, str],
        scratch: Path,
        data: Path | None,
        seed: int,
        cache: Path | None = None,
    ) -> None:
        scratch.mkdir(parents=True, exist_ok=True)
        self._worker = Worker(
            {
                "files_dir": str(files_dir),
                "module_name": module_name,
                "assets": assets,
                "scratch": str(scratch),
                "data": str(data) if data else None,
                "seed": seed,
            }
        )
        self.scratch_dir = scratch
        self.cache = cache  # one folder per version of everything that decides the answers
        self.seconds = 0.0  # time spent in reference code, for the benchmark's split
        self.cached_calls = 0

    tokenizer = StudentHandle.tokenizer
    model = StudentHandle.model
    asset = StudentHandle.asset
    data = StudentHandle.data
    scratch = StudentHandle.scratch

    def scratch_path(self, rel: str = "") -> Path:
        return self.scratch_dir / rel

    def call(self, fn: str, *args: Any, **kwargs: Any) -> Any:
        return self._call({"fn": fn, "args": list(args), "kwargs": kwargs})

    def call_with_constants(self, constants: dict[str, Any], fn: str, *args: Any, **kwargs: Any) -> Any:
        """call(), with the reference file's module-level settings replaced by `constants` for this
        call: given the student's own LEARNING_RATE and BATCH_SIZE (student.constant), the reference
        computes what a correct solution with those settings gives."""
        self._worker.load()
        module = self._worker.module
        if module is None:
            raise RuntimeError(f"the reference solution failed to import: {self._worker.import_error}")
        if unknown := sorted(set(constants) - set(vars(module))):
            raise ValueError(f"the reference has no setting named {', '.join(unknown)}")
        saved = {name: getattr(module, name) for name in constants}
        vars(module).update(constants)
        try:
            return self._call({"fn": fn, "args": list(args), "kwargs": kwargs, "constants": constants})
        finally:
            vars(module).update(saved)

    def _call(self, request: dict[str, Any]) -> Any:
        fn = request["fn"]
        entry = self._entry(request)
        if entry is not None:
            try:
                value = json.loads(entry.read_text())["value"]
                self.cached_calls += 1
                return value
            except (OSError, ValueError, KeyError):
                pass  # not cached yet (or a torn file from a killed grader): compute it
        reply = self._worker.call(request)
        self.seconds += float(reply.get("seconds") or 0.0)  # inside the function, as for the student
        if not reply["ok"]:
            raise RuntimeError(f"the reference solution failed: {reply['error']}")
        value = json.loads(json.dumps(reply["value"]))
        if entry is not None:
            _write_atomic(entry, json.dumps({"fn": fn, "value": value}))
        return value

    def _entry(self, request: dict[str, Any]) -> Path | None:
        if self.cache is None or not _pure(request):
            return None
        try:
            key = json.dumps(request, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError):
            return None
        return self.cache / f"{hashlib.sha256(key.encode()).hexdigest()}.json"


def _write_atomic(path: Path, text: str) -> None:
    """Best effort: a cache that cannot be written only costs time. Folders 0700 and files 0600
    (mkstemp's): root's alone, also where a uid sandbox has no mount namespace to hide them. Not
    results.write_json_atomic: that one writes NaN as null (results.json must parse), and a cached
    answer must be exactly the reference's."""
    version, module, cache = path.parent, path.parent.parent, path.parent.parent.parent
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        for folder in (cache, module, version):
            folder.mkdir(mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=version, suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)  # a full disk leaves no half-written file behind
