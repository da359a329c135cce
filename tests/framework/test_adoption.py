"""What a new instructor meets first: one-line config errors, a release that refuses to ship what
could not grade, validate rows named for what they check, and requirements installed as declared."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.layout import Layout
from autograder.quiz.checks import quiz_checks
from autograder.release.build import (
    ReleaseError,
    build_release,
    check_release,
    release_checks,
)
from autograder.release.framework import framework_wheel
from autograder.scaffold import MODULE, new_course


def course_cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k != "COURSE_ROOT"}
    return subprocess.run(
        [sys.executable, "-m", "autograder.cli", *args],
        cwd=cwd,
        env={**clean, "COLUMNS": "300", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_outside_a_course_says_where_it_looked_and_how_to_point_at_one(tmp_path):
    done = course_cli(["validate"], tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    message = done.stderr.strip()
    assert len(message.splitlines()) == 1 and str(tmp_path) in message and "COURSE_ROOT" in message
    done = course_cli(["validate"], tmp_path, COURSE_ROOT=str(tmp_path / "nowhere"))
    assert done.returncode == 2 and "holds no course.yaml" in done.stderr


def test_a_config_error_is_one_line_with_file_line_and_fix(tmp_path):
    (tmp_path / "course.yaml").write_text("modules:\n  - {id: m1, title: One, points: 1, files: [a.py]}\n")
    done = course_cli(["release", "--out", "rel"], tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        f'error: {tmp_path}/course.yaml:1: missing "course:" (id and title): see docs/authoring.md#course'
    )
    (tmp_path / "course.yaml").write_text("course: {id: c, title: C}\nmodules:\n  - {id: m1, title: One}\n")
    done = course_cli(["validate"], tmp_path)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 2, done.stderr  # one line per problem
    assert 'course.yaml:3: modules.0.points: missing "points:": see docs/authoring.md#modules' in lines[0]


@pytest.fixture
def scaffold(tmp_path, monkeypatch) -> Layout:
    new_course(tmp_path / "course", "Words 101")
    monkeypatch.setenv("COURSE_ROOT", str(tmp_path / "course"))
    return Layout(tmp_path / "course")


def test_course_new_refuses_a_folder_in_use(scaffold):
    from autograder.yamlconf import ConfigError

    with pytest.raises(ConfigError, match="not empty"):
        new_course(scaffold.root, "Again")


def test_a_missing_handout_fails_a_check_named_for_it(scaffold, tmp_path):
    (scaffold.assignment_dir(MODULE) / "README.md").unlink()
    rows = release_checks(scaffold, tmp_path / "rel", [MODULE])
    assert [(name, ok) for name, ok, *_ in rows] == [("module files present", False)]
    assert f"assignments/{MODULE}/README.md" in rows[0][2]


def test_a_module_without_hidden_tests_is_refused(scaffold, tmp_path):
    (scaffold.hidden_tests(MODULE) / "test_words.py").unlink()
    with pytest.raises(ReleaseError, match="hidden/test_.*py .nothing to grade with"):
        build_release(scaffold, tmp_path / "rel")
    done = course_cli(["release", "--out", str(tmp_path / "rel")], scaffold.root)
    assert done.returncode == 2 and "nothing to grade with" in done.stderr and "Traceback" not in done.stderr


def test_a_release_whose_wheel_does_not_match_its_hash_is_refused(scaffold, tmp_path):
    built = build_release(scaffold, tmp_path / "rel")
    wheel = framework_wheel()
    check_release(tmp_path / "rel", built, wheel)  # as written: accepted
    (tmp_path / "rel" / "student" / "framework" / wheel.filename).write_bytes(b"not the wheel")
    with pytest.raises(ReleaseError, match="does not match framework/SHA256SUMS"):
        check_release(tmp_path / "rel", built, wheel)


def test_requirements_install_exactly_what_the_course_declares(scaffold, tmp_path):
    path = scaffold.root / "course.yaml"
    path.write_text(
        path.read_text().replace(
            "requirements:\n  pip: []", "requirements:\n  torch: 2.13.0\n  pip: [numpy>=1.26]"
        )
    )
    build_release(Layout(scaffold.root), tmp_path / "rel")
    lines = [
        line
        for line in (tmp_path / "rel" / "student" / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines == [f"./framework/{framework_wheel().filename}", "torch==2.13.0", "numpy>=1.26"]
    with zipfile.ZipFile(tmp_path / "rel" / "autograder" / f"{MODULE}.zip") as zf:
        setup = zf.read("setup.sh").decode()
    assert '"torch==2.13.0" --index-url "${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}"' in setup
    assert "sha256sum --check" in setup and "-r requirements.txt" in setup


def test_a_small_quiz_bank_passes_with_a_warning(scaffold):
    rows = {name: (ok, detail) for name, ok, detail, _ in quiz_checks(scaffold, MODULE, reproduce=False)}
    ok, detail = rows["quiz bank loads"]
    assert ok and "3 questions" in detail and "warning" in detail
    assert all(ok for ok, _ in rows.values())
