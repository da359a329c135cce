"""`course validate`'s new checks: points add up, kept mutation results reach the kill rate, the
equivalent list is strict, and a grader's tuple-vs-list comparison is named."""

from __future__ import annotations

import pytest

from autograder.grade.jsonhint import MESSAGE, list_tuple_mismatch
from autograder.layout import Layout
from autograder.mutate.report import FunctionResult, MutantResult, Report, fingerprint, load_equivalents
from autograder.validate import _check_points, _check_reference, check_mutants
from autograder.yamlconf import ConfigError


def results(*tests: tuple[str, float, str], extra: dict | None = None) -> dict:
    return {
        "score": sum(points for _, points, status in tests if status == "passed"),
        "tests": [
            {"name": name, "max_score": points, "score": points if status == "passed" else 0,
             "status": status, "extra_data": {"id": name, **(extra or {}).get(name, {})}}
            for name, points, status in tests
        ],
    }  # fmt: skip


def test_hidden_points_must_add_up_to_the_modules_points() -> None:
    res = results(("test_a", 2, "passed"), ("test_b", 1, "passed"), ("test_bonus", 0, "passed"))
    assert _check_points("m", 3, res).ok  # extra credit (max_score 0) does not count
    mismatch = _check_points("m", 4, res)
    assert not mismatch.ok and mismatch.detail == "hidden tests give 3 points, course.yaml says 4"


def test_a_reference_failing_on_a_tuple_is_explained() -> None:
    res = results(("test_pair", 1, "failed"), extra={"test_pair": {"list_vs_tuple": True}})
    check = _check_reference("m", 1, res)
    assert not check.ok and f"test_pair {MESSAGE}" in check.detail


def _raised(fn) -> BaseException:
    with pytest.raises(AssertionError) as info:
        fn()
    return info.value


def test_the_plugin_tells_a_tuple_comparison_from_a_real_failure() -> None:
    got = [[1, 2], "a"]

    def tuple_inside():
        assert got == [(1, 2), "a"], "wrong"

    def really_wrong():
        assert got == [(1, 3), "a"], "wrong"

    class Student:
        def call(self, fn):
            return [1, 2]

    student = Student()

    def against_a_call():
        assert student.call("pair") == (1, 2)

    def no_tuple():
        assert got == [[1, 3], "a"]

    assert list_tuple_mismatch(_raised(tuple_inside).__traceback__)
    assert list_tuple_mismatch(_raised(against_a_call).__traceback__)
    assert not list_tuple_mismatch(_raised(really_wrong).__traceback__)
    assert not list_tuple_mismatch(_raised(no_tuple).__traceback__)


def test_a_grading_marks_the_tuple_comparison(mutated) -> None:
    """On a real grading (the mutation course's reference): the plugin flags the failing test."""
    _, report, _ = mutated
    assert not report["tests"]["test_pair_as_tuple"]["passed"]
    # the flag itself is checked on the reference's results.json in test_reference_results_flag_it
    from autograder.grade.runner import grade

    layout = mutated[0]
    ref = layout.reference_dir("mini")
    res = grade(layout, "mini", ref, layout.root / "ref-out", only=["test_pair_as_tuple"]).to_json()
    (test,) = res["tests"]
    assert test["status"] == "failed" and test["extra_data"]["list_vs_tuple"] is True
    assert "tuple" not in test["output"]  # the student sees only the author's message


def _report(layout: Layout, statuses: list[str]) -> None:
    mutants = [
        MutantResult(id=f"f:drop_call:{i:010x}", operator="drop_call", line=1, diff="", status=s)
        for i, s in enumerate(statuses)
    ]
    report = Report(
        module="mini",
        fingerprint=fingerprint(layout, "mini"),
        seconds=1,
        grading_overhead=1,
        tests={},
        functions={"f": FunctionResult(tests=["test_f"], mutants=mutants)},
    )
    layout.mutation_report("mini").write_text(report.model_dump_json())


def test_kill_rate_under_the_threshold_fails_validate(mini: Layout) -> None:
    assert check_mutants(mini, "mini") is None  # no kept results: nothing to check
    _report(mini, ["killed"] * 8 + ["survived", "survived", "skipped"])
    check = check_mutants(mini, "mini")
    assert not check.ok and "8/10" in check.detail and "below: f 8/10" in check.detail


def test_equivalents_and_the_per_module_threshold(mini: Layout) -> None:
    _report(mini, ["killed"] * 8 + ["survived", "survived"])
    mini.equivalent_mutants_file("mini").write_text(
        "equivalent:\n  - id: f:drop_call:0000000008\n    reason: the call only logs\n"
    )
    check = check_mutants(mini, "mini")
    assert check.ok is False and "8/9" in check.detail  # 8/9 = 89% < 90%
    course = mini.root / "course.yaml"
    course.write_text(course.read_text().replace("points: 4", "points: 4\n    mutation_kill_rate: 85%"))
    relaxed = Layout(mini.root)
    assert check_mutants(relaxed, "mini").ok


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("equivalent:\n  - id: f:drop_call:00000000zz\n    reason: x y z\n", r":2: .*equivalent\.0\.id"),
        ("equivalent:\n  - id: f:drop_call:0000000001\n", r":2: .*reason"),
        ("equivalent:\n  - {id: 'f:drop_call:0000000001', reason: why not, line: 3}\n", r":2: .*line"),
        (
            "equivalent:\n  - {id: 'f:drop_call:0000000001', reason: why}\n"
            "  - {id: 'f:drop_call:0000000001', reason: again}\n",
            "listed twice",
        ),
    ],
)
def test_the_equivalent_list_is_strict_with_line_numbers(mini: Layout, text: str, error: str) -> None:
    mini.equivalent_mutants_file("mini").write_text(text)
    with pytest.raises(ConfigError, match=error):
        load_equivalents(mini, "mini")
    _report(mini, ["killed"])
    bad = check_mutants(mini, "mini")
    assert not bad.ok and "equivalent_mutants.yaml" in bad.detail
