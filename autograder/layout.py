"""Where things live, in the instructor's repository and in the student release.

Instructor repo:                      Student release (`release/student/`):
  course.yaml                           course.yaml       (public part)
  reference/<module>/<file>.py          <module>/<file>.py and .ipynb (starter)
  assignments/<module>/README.md        <module>/README.md
  assignments/<module>/public/          <module>/checks/
  assignments/<module>/hidden/          (never shipped)
  assignments/<module>/data/            <module>/data/
  quizzes/<module>.yaml                 (never shipped)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from autograder.config import Course, load_course
from autograder.yamlconf import ConfigError


def find_root(start: Path | None = None) -> Path:
    """The folder holding course.yaml: $COURSE_ROOT, or the nearest one above `start`."""
    if env := os.environ.get("COURSE_ROOT"):
        if not (Path(env) / "course.yaml").is_file():
            raise ConfigError(f"COURSE_ROOT={env} holds no course.yaml: point it at the folder that does")
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "course.yaml").is_file():
            return folder
    raise ConfigError(
        f"no course.yaml in {here} or any folder above it: run `course` inside a course, or set "
        "COURSE_ROOT=/path/to/course (see docs/authoring.md#where-course-looks)"
    )


@dataclass(frozen=True)
class Layout:
    root: Path

    @classmethod
    def discover(cls, start: Path | None = None) -> Layout:
        return cls(find_root(start))

    @cached_property
    def course(self) -> Course:
        return load_course(self.root / "course.yaml")

    @property
    def is_instructor(self) -> bool:
        return (self.root / "reference").is_dir()

    def reference_dir(self, module: str) -> Path:
        return self.root / "reference" / module

    def assignment_dir(self, module: str) -> Path:
        return self.root / "assignments" / module if self.is_instructor else self.root / module

    def public_tests(self, module: str) -> Path:
        return self.assignment_dir(module) / ("public" if self.is_instructor else "checks")

    def hidden_tests(self, module: str) -> Path:
        return self.assignment_dir(module) / "hidden"

    def data_dir(self, module: str) -> Path:
        return self.assignment_dir(module) / "data"

    def mistakes_file(self, module: str) -> Path:
        return self.assignment_dir(module) / "mistakes.yaml"

    def mutation_report(self, module: str) -> Path:
        """`course mutate`'s results, kept beside the graders they measure (never shipped to students)."""
        return self.assignment_dir(module) / "mutants.json"

    def equivalent_mutants_file(self, module: str) -> Path:
        return self.assignment_dir(module) / "equivalent_mutants.yaml"

    def quiz_file(self, module: str) -> Path:
        return self.root / "quizzes" / f"{module}.yaml"

    @property
    def asset_cache(self) -> Path:
        return Path(os.environ.get("COURSE_ASSETS", self.root / ".assets")).resolve()

    @property
    def reference_cache(self) -> Path:
        """The reference's answers, cached by the trusted grader (autograder.grade.reference): they are
        answers to hidden inputs, so the worker never sees this folder."""
        return self.asset_cache / "reference-calls"
