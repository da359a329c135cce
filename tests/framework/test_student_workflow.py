"""A student's side: the release installs nothing secret, `course check` and `course submit` work."""

import subprocess
import sys
import zipfile

from autograder.release.build import build_release


def run(args, cwd, env_root):
    import os

    env = {**os.environ, "COURSE_ROOT": str(env_root), "COLUMNS": "200"}  # no wrapping mid-phrase
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


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
