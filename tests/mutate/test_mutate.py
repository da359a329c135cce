"""`course mutate` end to end on the mini course: the test map, test selection, kills, survivors."""

from __future__ import annotations

from autograder.mutate.report import Report, load_equivalents, tally
from autograder.mutate.run import callers, select_tests


def _added(diff: str) -> str:
    return next(
        line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")
    )


def test_the_reference_grading_records_which_functions_each_test_calls(mutated) -> None:
    _, report, _ = mutated
    calls = {name: test["calls"] for name, test in report["tests"].items()}
    assert calls["test_add"] == ["add"] and calls["test_repeat"] == ["repeat"]
    assert calls["test_write_file"] == ["write_file"]
    # the session fixture called add() once, during the first test: both of its tests exercise add()
    assert calls["test_uses_three"] == ["add"] and calls["test_also_uses_three"] == ["add", "shout"]
    assert not report["tests"]["test_pair_as_tuple"]["passed"]
    # built in the first test, the shared fixture's setup is costed to each test that uses it
    first, second = report["tests"]["test_uses_three"], report["tests"]["test_also_uses_three"]
    assert "three" in first["fixtures"] and first["fixtures"]["three"] == second["fixtures"]["three"]
    assert first["own_seconds"] <= first["seconds"] - first["fixtures"]["three"] + 1e-3


def test_a_mutant_runs_only_the_tests_that_exercise_its_function(mutated) -> None:
    _, report, _ = mutated
    assert report["functions"]["repeat"]["tests"] == ["test_repeat"]
    assert set(report["functions"]) == {"repeat"}  # --function
    parsed = Report.model_validate(report)
    assert select_tests("add", parsed.tests, {}) == ["test_add", "test_uses_three", "test_also_uses_three"]
    assert select_tests("pair", parsed.tests, {}) == []  # failing on the reference: it cannot kill
    assert select_tests("pair", parsed.tests, {}, passed=False) == ["test_pair_as_tuple"]  # but is named
    assert any("test_pair_as_tuple" in note for note in report["notes"])


def test_the_reference_grading_records_the_settings_tests_pass(mutated) -> None:
    _, report, _ = mutated
    assert report["arguments"]["repeat"] == {"0": ["ab", "c"]}
    assert report["arguments"]["add"]["0"] == [2, -1, 10**6, 1]  # at most four values a parameter
    assert report["arguments"]["shout"] == {"0": ["hi", "a"]}
    assert report["arguments"]["write_file"] == {}  # a scratch path reference is no setting


def test_kills_and_the_survivor_the_weak_test_lets_through(mutated) -> None:
    layout, report, out = mutated
    repeat = {_added(m["diff"]): m for m in report["functions"]["repeat"]["mutants"]}
    # repeat() is only ever called with its default: ignoring `times` for the default survives;
    # each text the tests pass, hard-coded, fails on the other one
    assert repeat.keys() == {"return text * 2", "return 'ab' * times", "return 'c' * times"}
    assert repeat["return text * 2"]["status"] == "survived"
    assert repeat["return 'ab' * times"]["status"] == repeat["return 'c' * times"]["status"] == "killed"
    survivor = repeat["return text * 2"]
    reference = (layout.reference_dir("mini") / "mini.py").read_text().splitlines()
    assert survivor["id"].startswith("repeat:ignore_argument:")
    assert reference[survivor["line"] - 1] == "    return text * times"
    assert survivor["id"] in out and "-    return text * times" in out  # printed with its diff

    parsed = Report.model_validate(report)
    assert tally(parsed.functions["repeat"], {}).rate == 2 / 3
    (layout.equivalent_mutants_file("mini")).write_text(
        f"equivalent:\n  - id: {survivor['id']}\n    reason: for the test's sake only\n"
    )
    equivalents = load_equivalents(layout, "mini")
    assert tally(parsed.functions["repeat"], equivalents).rate == 1.0


def test_callers_make_a_test_of_a_caller_exercise_its_callees() -> None:
    source = (
        "def a():\n    return 1\n\ndef b():\n    return a()\n\n"
        "def c():\n    return b()\n\ndef d():\n    return 2\n"
    )
    calling = callers([source])
    assert calling["a"] == {"b", "c"} and calling["b"] == {"c"} and "d" not in calling
    from autograder.mutate.report import HiddenTest

    tests = {
        "test_c": HiddenTest(calls=["c"], seconds=1, passed=True),
        "test_d": HiddenTest(calls=["d"], seconds=1, passed=True),
        "test_broken": HiddenTest(calls=["a"], seconds=1, passed=False),
    }
    assert select_tests("a", tests, calling) == ["test_c"]


def test_what_a_run_cannot_measure_is_in_the_report(mutated) -> None:
    _, report, _ = mutated
    assert report["complete"] is True
    assert any("outside top-level functions are not mutated" in note for note in report["notes"])  # RATE


def test_the_budget_skips_what_no_longer_fits_and_says_why() -> None:
    import time

    from autograder.mutate.operators import generate
    from autograder.mutate.run import Job, _grade_all, _result

    source = "def f(x, y):\n    ### BEGIN SOLUTION\n    return g(x, y) < 1\n    ### END SOLUTION\n"
    mutants = generate(source, "lab.py")
    queue = [Job(m, [["test_f"]], [estimate]) for m, estimate in zip(mutants, (1, 1, 50), strict=True)]
    graded, recorded = [], []
    _grade_all(
        queue,
        jobs=1,
        budget=30,
        started=time.monotonic(),
        grade=lambda job: graded.append(job) or _result(job.mutant, "killed", "test_f"),
        record=lambda function, result: recorded.append(result),
    )
    assert [job.estimate for job in graded] == [1, 1]
    assert [r.status for r in recorded] == ["killed", "killed", "skipped"]
    assert recorded[2].detail.startswith("budget: one grading takes ~50 s")


def test_stages_run_the_cheap_tests_before_a_training_whichever_function_they_call() -> None:
    """m03's load_splits() is reached only through data_summary() (7.8 s) and train() (a 90 s
    training, built once in a session fixture and timed in the first test that used it). Graded
    alone, each training test costs the training: they come last, together."""
    from autograder.mutate import run
    from autograder.mutate.report import HiddenTest

    def timed(own: float, **fixtures: float) -> HiddenTest:
        return HiddenTest(calls=["x"], seconds=own, passed=True, own_seconds=own, fixtures=fixtures)

    known = {
        "test_training_loss_falls": timed(1.0, trained=90.0),
        "test_splits": timed(7.8),
        "test_held_out": timed(0.7, trained=90.0),
        "test_tokenize": timed(1.0),
    }
    assert known["test_held_out"].alone == 90.7
    split = run.stages(list(known), known, overhead=3.0)
    assert split == [["test_tokenize"], ["test_splits"], ["test_held_out", "test_training_loss_falls"]]
    # the training is counted once in its stage
    assert run.stage_seconds(split[2], known) == 90.0 + 1.0 + 0.7
    # a map measured before fixture costs were: each test costs what it took on the reference
    old = {"test_a": HiddenTest(calls=["x"], seconds=40, passed=True)}
    assert old["test_a"].alone == 40 and run.stage_seconds(["test_a"], old) == 40


def test_a_later_stage_runs_only_for_a_survivor_within_the_budget(mini, monkeypatch) -> None:
    """m07's tokenize() inherited train()'s tests: each of its mutants cost a training, even those
    its own test kills. The cheap stage runs first; the training only for a survivor, within the budget."""
    import time
    from functools import partial

    from autograder.mutate import run
    from autograder.mutate.operators import generate

    graded: list[list[str]] = []

    def fake_grading(layout, module_id, sub, out, only, first_failure):
        assert first_failure  # one failing test is enough to kill a mutant
        graded.append(only)
        killed = "test_train" in only  # only the training notices this mutant
        return {"tests": [{"name": only[0], "status": "failed" if killed else "passed", "extra_data": {}}]}

    monkeypatch.setattr(run, "grade_in_subprocess", fake_grading)
    mutant = generate(
        "def tokenize(x):\n    ### BEGIN SOLUTION\n    return x < 1\n    ### END SOLUTION\n", "lab.py"
    )[0]
    grade = partial(run._grade_stage, mini, "mini", {}, work=mini.root)
    results: list = []
    for budget, stages, status in [
        (None, [["test_tokenize"], ["test_train"]], "killed"),
        (10, [["test_tokenize"]], "skipped"),
    ]:
        graded.clear()
        results.clear()
        job = run.Job(mutant, [["test_tokenize"], ["test_train"]], [3, 42])
        run._grade_all([job], 1, budget, time.monotonic(), grade, lambda f, r: results.append(r))
        assert graded == stages and [r.status for r in results] == [status]
    assert "survived its 1 cheaper test(s); the next 1 take ~42 s" in results[0].detail


def test_every_cheap_stage_runs_before_any_training() -> None:
    """m03's run spent its budget on train()'s full trainings (a survivor of the short run went on
    to its next stage at once) and skipped 19 mutants of manual_train() that cost a minute each."""
    import time

    from autograder.mutate import run
    from autograder.mutate.operators import generate

    source = "def f(x, y):\n    ### BEGIN SOLUTION\n    return g(x, y) < 1\n    ### END SOLUTION\n"
    first, second, _ = generate(source, "lab.py")
    survivor = run.Job(first, [["test_short_run"], ["test_training"]], [5, 100])
    other = run.Job(second, [["test_loop"]], [20])
    graded: list[str] = []

    def grade(job):
        graded.append(job.stages[job.survived][0])
        return job.after("survived" if job.survived + 1 < len(job.stages) else "killed", "x", 1.0)

    results: list = []
    run._grade_all([survivor, other], 1, None, time.monotonic(), grade, lambda f, r: results.append(r))
    assert graded == ["test_short_run", "test_loop", "test_training"]
    assert {r.id for r in results} == {first.id, second.id}


def test_a_grading_for_a_mutant_stops_at_its_first_failing_test(mini, tmp_path) -> None:
    """`course grade --first-failure`: a wrong add() fails test_add, and nothing after it runs."""
    from autograder.grade.submissions import grade_in_subprocess
    from tests.conftest import submission

    wrong = submission(tmp_path / "wrong", "def add(a, b):\n    return a - b\n")
    full = grade_in_subprocess(mini, "mini", wrong, tmp_path / "full")
    first = grade_in_subprocess(mini, "mini", wrong, tmp_path / "first", first_failure=True)
    assert [t["status"] for t in full["tests"]].count("failed") == 3
    ran = [t["extra_data"]["id"] for t in first["tests"] if "--first-failure stopped" not in t["output"]]
    assert ran == ["test_add"] and first["tests"][0]["status"] == "failed"


def test_a_rerun_reuses_a_clean_test_map_and_keeps_other_functions(mini, monkeypatch) -> None:
    """Gradings faked: the second run (one function) grades no reference and keeps the rest."""
    from autograder.mutate import run
    from autograder.mutate.report import HiddenTest, load_report

    references = []

    def fake_reference(layout, module_id, work):
        references.append(module_id)
        tests = {
            f"test_{f}": HiddenTest(calls=[f], seconds=1, passed=True, own_seconds=1, fixtures={})
            for f in ("add", "shout", "write_file")
        }
        return run.ReferenceRun(tests, {}, 2.0)

    monkeypatch.setattr(run, "reference_run", fake_reference)
    monkeypatch.setattr(run, "_grade_stage", lambda *a, **k: run._result(a[3].mutant, "killed", "faked"))
    first = run.mutate(mini, "mini")
    assert references == ["mini"] and set(first.functions) == {"add", "shout", "write_file"}
    second = run.mutate(mini, "mini", only=["add"])
    assert references == ["mini"] and any("reused" in note for note in second.notes)
    assert load_report(mini.mutation_report("mini")).functions.keys() == first.functions.keys()


def test_two_runs_of_one_module_do_not_overwrite_each_other(mini, monkeypatch) -> None:
    import os

    import pytest

    from autograder.mutate import run
    from autograder.yamlconf import ConfigError

    lock = mini.mutation_report("mini").with_name("mutants.json.lock")
    lock.write_text(str(os.getpid()))  # a live process holds it
    with pytest.raises(ConfigError, match="another course mutate"):
        run.mutate(mini, "mini")
    lock.write_text("999999999")  # a dead one: taken over
    monkeypatch.setattr(run, "reference_run", lambda *a: run.ReferenceRun({}, {}, 1.0))
    run.mutate(mini, "mini")
    assert not lock.exists()


def test_a_local_named_like_a_function_is_not_a_call_of_it() -> None:
    """m08's reference once had a local `answer`: it made every test of its function a test of answer()."""
    source = (
        "def answer():\n    return 1\n\n"
        "def score(rows):\n    answer = rows[0]\n    return answer\n\n"
        "def uses(rows):\n    return [answer() for _ in rows]\n\n"
        "def passes_it(rows):\n    return map(lambda r: answer(), rows)\n\n"
        "def shadows(answer):\n    return answer\n"
    )
    assert callers([source])["answer"] == {"uses", "passes_it"}


def test_a_mutant_listed_as_equivalent_is_not_graded_again(mini, monkeypatch) -> None:
    """An equivalent mutant survives every stage: the dearest grading of all, for no information."""
    from autograder.mutate import run
    from autograder.mutate.report import HiddenTest

    test = HiddenTest(calls=["add"], seconds=1, passed=True, own_seconds=1, fixtures={})
    monkeypatch.setattr(run, "reference_run", lambda *a: run.ReferenceRun({"test_add": test}, {}, 2.0))
    graded: list[str] = []

    def fake_grading(layout, module_id, files, job, **kwargs):
        graded.append(job.mutant.id)
        return run._result(job.mutant, "survived", "")

    monkeypatch.setattr(run, "_grade_stage", fake_grading)
    first = run.mutate(mini, "mini", only=["add"])
    listed = first.functions["add"].mutants[0].id
    mini.equivalent_mutants_file("mini").write_text(f"equivalent:\n  - id: {listed}\n    reason: a test's\n")
    graded.clear()
    second = run.mutate(mini, "mini", only=["add"], regrade=True)
    assert listed not in graded and len(graded) == len(first.functions["add"].mutants) - 1
    result = next(m for m in second.functions["add"].mutants if m.id == listed)
    assert (result.status, result.detail) == ("survived", "listed as equivalent: not graded")


def test_a_rerun_grades_only_what_the_last_run_left(mini, monkeypatch) -> None:
    """A run cut short by its budget goes on where it stopped; --regrade grades everything again."""
    from autograder.mutate import run
    from autograder.mutate.report import HiddenTest

    test = HiddenTest(calls=["add"], seconds=1, passed=True, own_seconds=1, fixtures={})
    monkeypatch.setattr(run, "reference_run", lambda *a: run.ReferenceRun({"test_add": test}, {}, 2.0))
    graded: list[str] = []
    budget_short = [True]  # the first run's budget skips every other mutant

    def fake_grading(layout, module_id, files, job, **kwargs):
        graded.append(job.mutant.id)
        skipped = budget_short[0] and len(graded) % 2
        return run._result(job.mutant, "skipped" if skipped else "killed", "x")

    monkeypatch.setattr(run, "_grade_stage", fake_grading)
    first = {m.id: m.status for m in run.mutate(mini, "mini", only=["add"]).functions["add"].mutants}
    left = {i for i, status in first.items() if status == "skipped"}
    assert left and len(left) < len(first)
    budget_short[0] = False
    graded.clear()
    second = run.mutate(mini, "mini", only=["add"])
    assert set(graded) == left and all(m.status == "killed" for m in second.functions["add"].mutants)
    assert any("verdicts kept from the last run" in note for note in second.notes)
    graded.clear()
    run.mutate(mini, "mini", only=["add"], regrade=True)
    assert set(graded) == set(first)
