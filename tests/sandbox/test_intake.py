"""Intake on its own: what is accepted and from where, before anything runs."""

from __future__ import annotations

import json
import os
import zipfile

import pytest

from autograder.grade.intake import take_in

SOURCE = "def add(a, b):\n    return a + b\n"


def test_gradescope_submission_folder_with_a_nested_copy(tmp_path):
    """Gradescope unpacks the upload into submission/; students often zip their whole folder."""
    sub = tmp_path / "submission"
    (sub / "lab" / "__MACOSX").mkdir(parents=True)
    (sub / "lab" / "lab.py").write_text(SOURCE)
    (sub / "lab" / "__MACOSX" / "._lab.py").write_bytes(b"\xff\xfe resource fork")
    (sub / "notes.txt").write_text("hi")
    intake = take_in(sub, tmp_path / "job", ["lab.py"])
    assert intake.problem is None and intake.files == ["lab.py"]
    assert (intake.files_dir / "lab.py").read_text() == SOURCE and len(intake.content_hash) == 64


def test_notebook_and_single_file(tmp_path):
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "id": "c1",
                "metadata": {},
                "source": SOURCE,
                "outputs": [],
                "execution_count": None,
            }
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (tmp_path / "lab.ipynb").write_text(json.dumps(nb))
    intake = take_in(tmp_path / "lab.ipynb", tmp_path / "job", ["lab.py"])
    assert intake.problem is None and "return a + b" in (intake.files_dir / "lab.py").read_text()
    (tmp_path / "lab.py").write_text(SOURCE)
    assert take_in(tmp_path / "lab.py", tmp_path / "job2", ["lab.py"]).problem is None


@pytest.mark.parametrize(
    "name, data, phrase",
    [
        ("lab.py", b"def add(a, b):\n    return a +\n", "lab.py, line 2: syntax error"),
        ("lab.py", "x = 'é'\n".encode("utf-16"), "not UTF-8"),
        ("lab.ipynb", b"{not json", "not a valid notebook"),
    ],
)
def test_unreadable_source(tmp_path, name, data, phrase):
    with zipfile.ZipFile(tmp_path / "s.zip", "w") as zf:
        zf.writestr(name, data)
    intake = take_in(tmp_path / "s.zip", tmp_path / "job", ["lab.py"])
    assert intake.problem.startswith("Your submission could not be graded:") and phrase in intake.problem


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_a_zip_with_a_damaged_member_is_a_plain_message(tmp_path, method):
    """Each decompressor fails in its own way (zlib.error, OSError, LZMAError): all are the student's
    plain message, never a crash of the grader."""
    with zipfile.ZipFile(tmp_path / "s.zip", "w", compression=method) as zf:
        zf.writestr("lab.py", SOURCE * 200)
    data = bytearray((tmp_path / "s.zip").read_bytes())
    start = 30 + len("lab.py")  # the member's data follows its local header
    data[start + 8 : start + 40] = bytes(range(32))
    (tmp_path / "s.zip").write_bytes(bytes(data))
    intake = take_in(tmp_path / "s.zip", tmp_path / "job", ["lab.py"])
    assert intake.problem is not None and "the archive is corrupt (lab.py" in intake.problem


def test_fifo_and_symlinked_folder_are_refused(tmp_path):
    sub = tmp_path / "s"
    sub.mkdir()
    (sub / "lab.py").write_text(SOURCE)
    os.mkfifo(sub / "pipe")
    assert "not a regular file" in take_in(sub, tmp_path / "job", ["lab.py"]).problem
    (sub / "pipe").unlink()
    (sub / "elsewhere").symlink_to("/etc")
    assert "symbolic link" in take_in(sub, tmp_path / "job", ["lab.py"]).problem
    (tmp_path / "link").symlink_to(sub)
    assert "symbolic link" in take_in(tmp_path / "link", tmp_path / "job", ["lab.py"]).problem


def test_nothing_is_extracted_outside_the_job(tmp_path):
    with zipfile.ZipFile(tmp_path / "s.zip", "w") as zf:
        zf.writestr("lab.py", SOURCE)
        zf.writestr("a/../../escaped.py", "x = 1\n")
    intake = take_in(tmp_path / "s.zip", tmp_path / "job", ["lab.py"])
    assert "leaves its folder" in intake.problem and not (tmp_path / "escaped.py").exists()


STUB = "def add(a, b):\n    # TODO: return the sum\n    raise NotImplementedError\n"


@pytest.mark.parametrize(
    "py, notebook, graded",
    [
        (STUB, SOURCE, "lab.ipynb"),  # worked in the notebook: the starter .py beside it is ignored
        (SOURCE, STUB, "lab.py"),  # worked in the .py
        (SOURCE, SOURCE, "lab.py"),  # both filled in: the .py
        ("def add(:\n", STUB, "lab.py"),  # a .py that does not parse was worked on: its syntax error is shown
    ],
)
def test_of_a_py_and_an_ipynb_the_one_worked_on_is_graded(tmp_path, py, notebook, graded):
    from autograder.notebook import script_to_notebook

    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "lab.py").write_text(py)
    (tmp_path / "s" / "lab.ipynb").write_text(script_to_notebook(notebook))
    intake = take_in(tmp_path / "s", tmp_path / "job", ["lab.py"])
    assert intake.graded_from == {"lab.py": graded}
    if py.startswith("def add(:"):
        assert "lab.py, line 1: syntax error" in intake.problem
    else:
        assert intake.problem is None and "return a + b" in (intake.files_dir / "lab.py").read_text()
