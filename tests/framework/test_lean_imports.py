"""The trusted grading path imports only what it uses: no plotting, notebook, web or cluster library."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MINI_GOOD, submission, write_mini_course

# jinja2: the batch's reports (a zero's "looks like a batch" hint must not load them);
# anyio: a pytest plugin in the venv, which grading does not autoload.
NEVER_ON_GRADING_PATH = {"matplotlib", "nbgrader", "fastapi", "dask", "distributed", "uvicorn", "torch",
                         "jinja2", "anyio"}  # fmt: skip


def imported_packages(importtime_stderr: str) -> set[str]:
    """Top-level package names from `python -X importtime` output (one line per module imported)."""
    names = set()
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.add(name.split(".")[0])
    return names


@pytest.mark.parametrize("quiet", [False, True], ids=["verbose", "quiet"])
@pytest.mark.parametrize("work", [MINI_GOOD, ""], ids=["good", "zero"])
def test_grading_a_pure_python_module_imports_no_heavy_library(
    tmp_path: Path, quiet: bool, work: str
) -> None:
    layout = write_mini_course(tmp_path / "course")
    sub = submission(tmp_path / "sub", work)
    argv = [sys.executable, "-X", "importtime", "-m", "autograder.cli", "grade", "mini", str(sub)]
    argv += ["--out", str(tmp_path / "out"), *(["--quiet"] if quiet else [])]
    run = subprocess.run(
        argv, env={**os.environ, "COURSE_ROOT": str(layout.root)}, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert (results["score"] == 0) == (work == ""), results["score"]
    imported = imported_packages(run.stderr)
    assert {"autograder", "pytest"} <= imported, "the import log was not parsed"
    assert imported.isdisjoint(NEVER_ON_GRADING_PATH), sorted(imported & NEVER_ON_GRADING_PATH)
