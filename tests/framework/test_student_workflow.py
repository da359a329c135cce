"""A student's side: the release installs nothing secret, `course check` and `course submit` work."""

import json
import subprocess
import sys
import zipfile

from autograder.release.build import build_release


def run(args, cwd, env_root):
    import os

    env = {**os.environ, "COURSE_ROOT": str(env_root), "COLUMNS": "200"}  # no wrapping mid-phrase
    return subprocess.run(
        [sys.executable, "-m", "autograder.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_check_and_submit_from_the_student_release(mini, tmp_path):
    build_release(mini, tmp_path / "rel")
    student_root = tmp_path / "rel" / "student"
    work = student_root / "mini"
    done = run(["check", "mini", str(work)], student_root, student_root)
    assert done.returncode == 0, done.stderr
    assert "add(1, 1) is 2" in done.stdout and "0/1" in done.stdout
    assert "Hidden tests" in done.stdout

    (work / "mini.py").write_text((mini.reference_dir("mini") / "mini.py").read_text())
    done = run(["check", "mini", str(work)], student_root, student_root)
    assert "1/1" in done.stdout

    done = run(["submit", "mini", str(work), "--out", str(tmp_path / "sub.zip")], student_root, student_root)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(tmp_path / "sub.zip") as zf:
        assert sorted(zf.namelist()) == ["mini.ipynb", "mini.py"]


def test_work_done_in_the_notebook_is_what_gets_graded(mini, tmp_path):
    """`course submit` packs both starters; the one the student filled in is graded, not the other."""
    from autograder.grade.runner import grade
    from autograder.notebook import script_to_notebook

    build_release(mini, tmp_path / "rel")
    work = tmp_path / "rel" / "student" / "mini"
    solution = (mini.reference_dir("mini") / "mini.py").read_text()
    (work / "mini.ipynb").write_text(script_to_notebook(solution))  # the .py stays the untouched starter
    done = run(["submit", "mini", str(work), "--out", str(tmp_path / "sub.zip")], work.parent, work.parent)
    assert done.returncode == 0, done.stderr
    results = grade(mini, "mini", tmp_path / "sub.zip", tmp_path / "out")
    assert results.score == results.max_score
    assert json.loads((tmp_path / "out" / "results.json").read_text())["extra_data"]["graded_files"] == {
        "mini.py": "mini.ipynb"
    }
