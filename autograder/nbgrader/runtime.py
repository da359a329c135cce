"""What an exported notebook's check cells import: the public checks' `student` handle, run on the
notebook's own functions inside the student's kernel.

The checks are the same functions `course check` runs in the sandboxed worker. In a notebook the
code is the student's own, on their own machine (or nbgrader's), so it runs in-process: the worker's
`Worker` resolves the same asset, data and scratch references and converts values the same way.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from autograder.assets import AssetStore
from autograder.layout import Layout
from autograder.worker.client import StudentError, StudentHandle
from autograder.worker.server import Worker


class _Globals:
    """The notebook's namespace read at call time, so a re-run cell's new definition is the one called."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self._namespace = namespace

    def __getattr__(self, name: str) -> Any:
        try:
            return self._namespace[name]
        except KeyError:
            raise AttributeError(name) from None


class NotebookStudent:
    """`student` for checks run in a notebook: `call` runs the notebook's function of that name."""

    tokenizer = StudentHandle.tokenizer
    model = StudentHandle.model
    asset = StudentHandle.asset
    data = StudentHandle.data
    scratch = StudentHandle.scratch

    def __init__(self, worker: Worker) -> None:
        self._worker = worker

    def scratch_path(self, rel: str = "") -> Path:
        return self._worker.scratch / rel

    def call(self, fn: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        reply = self._worker.call({"fn": fn, "args": list(args), "kwargs": kwargs})
        if not reply["ok"]:
            raise StudentError(reply["error"].replace(f"{self._worker.module_name}.py", "this notebook"))
        return json.loads(json.dumps(reply["value"]))


def public_checks(
    module_id: str, namespace: dict[str, Any]
) -> tuple[NotebookStudent, Path | None, AssetStore]:
    """(student, public_data, assets) for `module_id`'s checks, on the functions in `namespace`.

    The course is found as `course check` finds it (COURSE_ROOT, or a course.yaml above the
    notebook); the module's data is the `data/` folder beside the notebook when nbgrader released it
    there, else the course's.
    """
    layout = Layout.discover()
    course = layout.course
    module = course.module(module_id)
    store = AssetStore(course, layout.root, layout.asset_cache)
    visible = [a for a in module.assets if not course.assets[a].hidden]
    data = Path("data").resolve() if Path("data").is_dir() else layout.data_dir(module_id)
    worker = Worker(
        {
            "files_dir": str(Path.cwd()),
            "module_name": Path(module.files[0]).stem,
            "assets": store.paths(visible),
            "scratch": tempfile.mkdtemp(prefix=f"{module_id}-scratch-"),
            "data": str(data) if data.is_dir() else None,
            "seed": course.defaults.seed,
        }
    )
    worker.module = _Globals(namespace)  # type: ignore[assignment]  # the notebook is the module
    return NotebookStudent(worker), data if data.is_dir() else None, store
