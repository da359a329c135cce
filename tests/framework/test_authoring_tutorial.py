"""docs/authoring.md, followed literally: every code block headed `title="PATH"` is written to PATH
in an empty folder, and `course validate` passes on the result. The scaffold of `course new` is the
same course, so the tutorial and the scaffold cannot drift apart."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.config import Course
from autograder.scaffold import render

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r'^```\w+ title="(?P<path>[^"]+)"\n(?P<body>.*?)^```$', re.S | re.M)


def tutorial_files() -> dict[str, str]:
    return {m["path"]: m["body"] for m in BLOCK.finditer((DOCS / "authoring.md").read_text())}


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lowercased, punctuation dropped, spaces to dashes."""
    headings = re.findall(r"^#+ (.+)$", re.sub(r"^```.*?^```$", "", markdown, flags=re.S | re.M), re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def test_the_tutorial_writes_a_whole_course():
    files = tutorial_files()
    assert {
        "course.yaml",
        "reference/m01-words/words.py",
        "assignments/m01-words/hidden/test_words.py",
    } <= set(files)


def test_the_tutorial_is_what_course_new_writes():
    scaffold = render("Words 101")
    for path, body in tutorial_files().items():
        assert body == scaffold[path], f"docs/authoring.md's {path} differs from `course new`'s"


def test_every_section_an_error_points_at_exists():
    found = anchors((DOCS / "authoring.md").read_text())
    wanted = {*Course.model_fields, "mistakes", "where-course-looks", "layout"}
    assert wanted <= found, f"missing sections: {sorted(wanted - found)}"


@pytest.mark.skipif(sys.platform != "linux", reason="grading needs the Linux sandbox")
def test_the_course_the_tutorial_builds_validates(tmp_path):
    for path, body in tutorial_files().items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(body)
    env = {k: v for k, v in os.environ.items() if k != "COURSE_ROOT"}
    done = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "validate"],
        cwd=tmp_path,
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for row in (
        "reference, seed 1234",
        "untouched starter",
        "mistake: keeps the case",
        "release is complete",
    ):
        assert row in done.stdout
