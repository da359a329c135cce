"""The reference solution as a handle with the student's API, run in the trusted process.

Graders compare `student.call(...)` with `reference.call(...)` on hidden inputs. The reference is
the instructor's own code, so it runs in-process; its values still go through JSON so both sides
are compared as the same kind of data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from autograder.worker.client import StudentHandle
from autograder.worker.server import Worker


class ReferenceHandle:
    def __init__(
        self,
        files_dir: Path,
        module_name: str,
        assets: dict[str, str],
        scratch: Path,
        data: Path | None,
        seed: int,
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
        self.seconds = 0.0  # time spent in reference code, for the benchmark's split

    tokenizer = StudentHandle.tokenizer
    model = StudentHandle.model
    asset = StudentHandle.asset
    data = StudentHandle.data
    scratch = StudentHandle.scratch

    def scratch_path(self, rel: str = "") -> Path:
        return self.scratch_dir / rel

    def call(self, fn: str, *args: Any, **kwargs: Any) -> Any:
        reply = self._worker.call({"fn": fn, "args": list(args), "kwargs": kwargs})
        self.seconds += float(reply.get("seconds") or 0.0)  # inside the function, as for the student
        if not reply["ok"]:
            raise RuntimeError(f"the reference solution failed: {reply['error']}")
        return json.loads(json.dumps(reply["value"]))
