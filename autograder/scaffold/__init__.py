"""`course new DIR`: a course that validates, releases and grades as it stands, for an instructor
to make their own. One pure-Python module (reference, handout, public and hidden tests, mistakes,
a small quiz), a commented course.yaml and a README, written from the templates beside this file."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.yamlconf import ConfigError

if TYPE_CHECKING:
    import jinja2

MODULE = "m01-words"
TEMPLATES = Path(__file__).with_name("templates")
# file in templates/ -> where it goes in the new course; *.j2 files are rendered with the title
FILES = {
    "course.yaml.j2": "course.yaml",
    "instructor_readme.md.j2": "README.md",
    "gitignore": ".gitignore",
    "words.py": f"reference/{MODULE}/words.py",
    "README.md": f"assignments/{MODULE}/README.md",
    "test_checks.py": f"assignments/{MODULE}/public/test_checks.py",
    "test_words.py": f"assignments/{MODULE}/hidden/test_words.py",
    "mistakes.yaml": f"assignments/{MODULE}/mistakes.yaml",
    "quiz.yaml": f"quizzes/{MODULE}.yaml",
}


@functools.cache
def _templates() -> jinja2.Environment:
    """Loaded on first use: `course` registers this command, and `course grade` must not pay for jinja2."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def course_id_from(title: str) -> str:
    """`Intro to Python (2027)` -> `intro-to-python-2027`: a valid course id."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "my-course"


def render(title: str, course_id: str | None = None) -> dict[str, str]:
    """Every file of the new course, keyed by its path inside the course folder."""
    context = {"title": title, "course_id": course_id or course_id_from(title)}
    return {
        dest: _templates().get_template(name).render(context)
        if name.endswith(".j2")
        else (TEMPLATES / name).read_text(encoding="utf-8")
        for name, dest in FILES.items()
    }


def new_course(dest: Path, title: str, course_id: str | None = None) -> list[Path]:
    """Write the course into `dest` (new or empty); refuse to overwrite anything."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ConfigError(f"{dest} already exists and is not empty: pick a new folder")
    written = []
    for rel, text in render(title, course_id).items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
