"""Submissions refused at intake: nothing of them runs, every test fails with the same clear reason."""

from __future__ import annotations

import os
import stat
import struct
import zipfile
from pathlib import Path

import pytest

from tests.redteam.conftest import GOOD


def refused(graded, *phrases: str) -> None:
    assert graded.score == 0
    for test in graded.tests.values():
        assert test["output"].startswith("Your submission could not be graded:"), test["output"]
        for phrase in phrases:
            assert phrase in test["output"], test["output"]


def make_zip(path: Path, entries: dict[str, bytes], links: dict[str, str] = ()) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for name, target in dict(links).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


def test_correct_submission_scores_full_marks(grade_it):
    graded = grade_it(GOOD)
    assert graded.score == 4, graded.text
    assert graded.data["extra_data"]["sandbox"] in ("bwrap", "uid")


def test_syntax_error_names_file_and_line(grade_it):
    refused(grade_it(GOOD + "\ndef broken(:\n    pass\n"), "solution.py, line 16", "syntax error")


def test_non_utf8_source(grade_it, tmp_path):
    folder = tmp_path / "latin1"
    folder.mkdir()
    (folder / "solution.py").write_bytes(("# café\n" + GOOD).encode("latin-1"))
    refused(grade_it(folder), "not UTF-8")


def test_misnamed_file(grade_it, tmp_path):
    folder = tmp_path / "misnamed"
    folder.mkdir()
    (folder / "solutions.py").write_text(GOOD)
    refused(grade_it(folder), "no solution.py", "solutions.py")


def test_symlink_to_a_hidden_test_in_a_folder(grade_it, rt, tmp_path):
    folder = tmp_path / "linked"
    folder.mkdir()
    (folder / "solution.py").symlink_to(rt.hidden_tests("rt") / "test_rt.py")
    refused(grade_it(folder), "symbolic link")


def test_symlink_in_a_zip(grade_it, tmp_path):
    archive = make_zip(tmp_path / "s.zip", {"helper.py": b""}, {"solution.py": "../hidden/test_rt.py"})
    refused(grade_it(archive), "symbolic link")


def test_hard_link_in_a_folder(grade_it, rt, tmp_path):
    folder = tmp_path / "hard"
    folder.mkdir()
    (tmp_path / "elsewhere.py").write_text(GOOD)
    os.link(tmp_path / "elsewhere.py", folder / "solution.py")
    refused(grade_it(folder), "hard link")


@pytest.mark.parametrize(
    "name, phrase", [("../../solution.py", "leaves its folder"), ("/tmp/solution.py", "absolute path")]
)
def test_paths_that_leave_the_folder(grade_it, tmp_path, name, phrase):
    refused(grade_it(make_zip(tmp_path / "s.zip", {name: GOOD.encode()})), phrase)


def test_zip_bomb_is_counted_while_extracting(grade_it, tmp_path):
    blocks = {f"data{i}.bin": bytes(15 * 1024**2) for i in range(8)}  # each under the per-file cap
    archive = make_zip(tmp_path / "bomb.zip", {"solution.py": GOOD.encode()} | blocks)
    assert archive.stat().st_size < 1024**2
    refused(grade_it(archive), "expands to more than")


def test_zip_whose_headers_lie_about_sizes(grade_it, tmp_path):
    archive = make_zip(tmp_path / "liar.zip", {"solution.py": GOOD.encode(), "data.bin": bytes(30 * 1024**2)})
    raw = bytearray(archive.read_bytes())
    at = raw.find(b"PK\x01\x02", raw.find(b"data.bin") + 1)  # central directory entry of data.bin
    struct.pack_into("<I", raw, at + 24, 10)  # uncompressed size: "10 bytes"
    archive.write_bytes(bytes(raw))
    refused(grade_it(archive), "corrupt")


def test_too_many_files(grade_it, tmp_path):
    refused(
        grade_it(
            make_zip(
                tmp_path / "many.zip",
                {"solution.py": GOOD.encode()} | {f"junk/{i}.txt": b"x" for i in range(250)},
            )
        ),
        "more than 200 files",
    )


def test_file_over_the_size_limit(grade_it, tmp_path):
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "solution.py").write_text(GOOD)
    (folder / "weights.bin").write_bytes(bytes(21 * 1024**2))
    refused(grade_it(folder), "weights.bin is larger than 20 MiB")


def test_not_a_zip(grade_it, tmp_path):
    (tmp_path / "fake.zip").write_bytes(b"this is no zip")
    refused(grade_it(tmp_path / "fake.zip"), "not a readable zip")
