from pathlib import Path

import pytest

from autograder.config import load_course
from autograder.yamlconf import ConfigError

GOOD = """course: {id: c, title: C}
assets:
  m: {hub: org/model}
modules:
  - id: m1
    title: One
    points: 10
    files: [a.py]
    assets: [m]
    limits: {memory: 1GiB, wall: 2m}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "course.yaml"
    path.write_text(text)
    return path


def test_the_real_course_loads(course):
    assert course.course.modules[0].id == "m01-tokenizers"


def test_units_and_overrides(tmp_path):
    course = load_course(write(tmp_path, GOOD))
    limits = course.limits_for("m1")
    assert limits.memory == 1024**3 and limits.wall == 120
    assert limits.call == course.defaults.limits.call  # not overridden: the default stays


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("points: 10", "points: -1", r"course.yaml:7: modules.0.points: Input should be greater than 0"),
        (
            "memory: 1GiB",
            "memory: lots",
            r"course.yaml:10: modules.0.limits.memory: Value error, 'lots' is not a size",
        ),
        ("assets: [m]", "assets: [nope]", r"unknown asset 'nope'"),
        (
            "title: One",
            "title: One\n    colour: red",
            r"course.yaml:7: modules.0.colour: Extra inputs are not permitted",
        ),
        ("id: m1", "id: M 1", r"course.yaml:5: modules.0.id: String should match pattern"),
    ],
)
def test_errors_name_the_file_line_and_key_path(tmp_path, old, new, expected):
    with pytest.raises(ConfigError, match=expected):
        load_course(write(tmp_path, GOOD.replace(old, new)))


def test_yaml_syntax_errors_give_the_line(tmp_path):
    with pytest.raises(ConfigError, match=r"course.yaml:\d+: invalid YAML: expected ','"):
        load_course(write(tmp_path, "course: {id: c, title: C}\nmodules:\n  - id: [unclosed\n"))


def test_unknown_module_lists_the_known_ones(tmp_path):
    with pytest.raises(ConfigError, match="course.yaml has: m1"):
        load_course(write(tmp_path, GOOD)).module("m9")
