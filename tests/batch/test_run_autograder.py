"""The Gradescope zip's run_autograder, run as the container would, in a folder laid out like /autograder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.release.build import build_release
from tests.batch.conftest import GOOD

VENV = Path(sys.executable).parent.parent


@pytest.fixture
def autograder_root(klass, tmp_path) -> Path:
    """<tmp>/autograder with source/ (the unzipped release), submission/ and submission_metadata.json."""
    built = build_release(klass, tmp_path / "release", ["mini"])
    root = tmp_path / "autograder"
    with zipfile.ZipFile(built[0].autograder_zip) as zf:
        zf.extractall(root / "source")
    (root / "source" / "run_autograder").chmod(0o755)
    (root / "submission").mkdir()
    (root / "submission" / "mini.py").write_text(GOOD)
    (root / "submission_metadata.json").write_text(
        json.dumps(
            {
                "created_at": "2027-02-02T12:30:00.000000+00:00",
                "assignment": {"due_date": "2027-02-01T23:59:00.000000+00:00"},
                "users": [
                    {
                        "email": "s@example.edu",
                        "name": "S",
                        "assignment": {"due_date": "2027-02-01T23:59:00+00:00"},
                    }
                ],
            }
        )
    )
    return root


def run_autograder(root: Path, venv: Path = VENV) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_ROOT", "COURSE_ASSETS")}
    env.update(AUTOGRADER_ROOT=str(root), AUTOGRADER_VENV=str(venv))
    done = subprocess.run(
        ["bash", str(root / "source" / "run_autograder")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text())


def test_grades_the_submission_with_gradescope_due_dates(autograder_root):
    results = run_autograder(autograder_root)
    assert [t["status"] for t in results["tests"]] == ["passed"] * 3
    late = results["extra_data"]["late"]
    assert late["raw_score"] == 4.0 and late["penalty"] == pytest.approx(
        0.1
    )  # 12.5 h late, past the 1 h grace
    assert results["score"] == pytest.approx(3.6)


def test_a_broken_grader_still_leaves_a_valid_results_file(autograder_root):
    (autograder_root / "source" / "course" / "course.yaml").write_text("modules: [oops\n")
    results = run_autograder(autograder_root)
    assert results["score"] == 0 and results["tests"], "the CLI's own failure result"
    assert "failed before it could grade" in results["tests"][0]["output"]


def test_a_missing_python_still_leaves_a_valid_results_file(autograder_root, tmp_path):
    results = run_autograder(autograder_root, venv=tmp_path / "no-venv")
    assert results["score"] == 0 and results["tests"] == []
    assert "could not run (exit status 127)" in results["output"]
