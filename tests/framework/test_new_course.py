"""A new instructor's path, end to end, outside this repository: install the framework's wheel into
a fresh venv, `course new`, `course validate`, `course release`; then a student's fresh venv installs
the release's own wheel and runs `course check`, and the Gradescope zip's run_autograder grades.

The fresh venvs reach the framework's dependencies (pydantic, typer, ...) through a .pth line to
this venv's site-packages: offline, and nothing but the wheel is installed into them. The ML stack
is never imported: the scaffolded course is pure Python and declares no requirements.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from autograder.release.framework import framework_wheel

TIMEOUT = 600
# Installed in each fresh venv: a pure-Python course must never import the ML stack, which this
# venv's libraries would otherwise offer (the worker, started with python -I, loads it too).
NO_ML = """
import sys

BLOCKED = {"torch", "transformers", "datasets", "evaluate", "accelerate", "peft", "safetensors",
           "huggingface_hub", "tokenizers", "sklearn", "bitsandbytes"}


class NoML:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ImportError(f"{name}: a pure-Python course imports no ML library")
        return None


sys.meta_path.insert(0, NoML())
"""


def fresh_venv(path: Path, wheel: Path) -> Path:
    """A venv holding only `wheel` (installed by pip, offline) on top of this venv's libraries."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=TIMEOUT)
    python = path / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (Path(purelib) / "_no_ml.py").write_text(NO_ML)
    (Path(purelib) / "_no_ml.pth").write_text("import _no_ml\n")
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-index", "--no-deps"]
    subprocess.run([*pip, str(wheel)], check=True, timeout=TIMEOUT)
    return path


def run(venv: Path, args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("COURSE_ROOT", "COURSE_ASSETS", "PYTHONPATH")}
    return subprocess.run(
        [str(venv / "bin" / args[0]), *args[1:]],
        cwd=cwd,
        env={**clean, "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> dict[str, Path]:
    """The instructor's side: wheel -> venv -> course new -> validate -> release."""
    tmp = tmp_path_factory.mktemp("instructor")
    wheel = framework_wheel()
    (tmp / wheel.filename).write_bytes(wheel.data)
    venv = fresh_venv(tmp / "venv", tmp / wheel.filename)
    done = run(venv, ["course", "new", "words-course", "--title", "Words 101"], tmp)
    assert done.returncode == 0, done.stderr
    course = tmp / "words-course"
    done = run(venv, ["course", "validate"], course)
    assert done.returncode == 0, done.stdout + done.stderr
    done = run(venv, ["course", "release", "--out", "release"], course)
    assert done.returncode == 0, done.stdout + done.stderr
    return {"venv": venv, "course": course, "release": course / "release", "tmp": tmp}


def test_the_framework_runs_from_its_wheel_not_this_checkout(released):
    done = run(
        released["venv"], ["python", "-c", "import autograder; print(autograder.__file__)"], released["tmp"]
    )
    assert str(released["venv"]) in done.stdout, done.stdout + done.stderr
    done = run(released["venv"], ["python", "-c", "import torch"], released["tmp"])
    assert "imports no ML library" in done.stderr  # the guard the other tests ran under is on


def test_the_release_carries_the_framework_and_no_torch(released):
    student = released["release"] / "student"
    wheels = list((student / "framework").glob("*.whl"))
    assert len(wheels) == 1
    requirements = (student / "requirements.txt").read_text()
    assert f"./framework/{wheels[0].name}" in requirements
    assert "torch" not in requirements.split("# The grading framework")[1]  # nothing installs it
    with zipfile.ZipFile(released["release"] / "autograder" / "m01-words.zip") as zf:
        assert zf.read(f"framework/{wheels[0].name}") == wheels[0].read_bytes()
        assert "torch" not in zf.read("setup.sh").decode()
        assert "course/assignments/m01-words/hidden/test_words.py" in zf.namelist()


def test_a_student_installs_the_release_and_checks(released, tmp_path):
    student = released["release"] / "student"
    venv = fresh_venv(tmp_path / "student-venv", next((student / "framework").glob("*.whl")))
    done = run(venv, ["course", "check", "m01-words"], student)
    assert done.returncode == 0, done.stderr
    assert "word_counts() counts the words of a short text" in done.stdout and "0/1" in done.stdout

    reference = (released["course"] / "reference" / "m01-words" / "words.py").read_text()
    (student / "m01-words" / "words.py").write_text(reference)
    done = run(venv, ["course", "check", "m01-words"], student)
    assert "1/1" in done.stdout, done.stdout + done.stderr
    done = run(venv, ["course", "submit", "m01-words", "--out", str(tmp_path / "sub.zip")], student)
    assert done.returncode == 0, done.stderr

    # Gradescope: the zip unpacked in /autograder/source, this venv standing in for setup.sh's
    root = tmp_path / "autograder"
    with zipfile.ZipFile(released["release"] / "autograder" / "m01-words.zip") as zf:
        zf.extractall(root / "source")
    with zipfile.ZipFile(tmp_path / "sub.zip") as zf:
        zf.extractall(root / "submission")
    done = run(
        venv,
        [
            "python",
            "-c",
            "import subprocess, sys; sys.exit(subprocess.call(['bash', sys.argv[1]]))",
            str(root / "source" / "run_autograder"),
        ],
        root,
        AUTOGRADER_ROOT=str(root),
        AUTOGRADER_VENV=str(venv),
    )
    assert done.returncode == 0, done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 6 and [t["status"] for t in results["tests"]] == ["passed"] * 4, results
