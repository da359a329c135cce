"""The grading contract on a tiny module: results.json, messages, isolation of failures."""

import json
import subprocess
import sys
import zipfile

from autograder.grade.runner import grade
from tests.conftest import MINI_GOOD as GOOD
from tests.conftest import submission


def by_id(results):
    return {t["extra_data"]["id"]: t for t in results.to_json()["tests"]}


def test_a_correct_submission_gets_full_marks_and_schema(mini, tmp_path):
    results = grade(mini, "mini", submission(tmp_path / "s", GOOD), tmp_path / "out")
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert data["score"] == 4 and results.max_score == 4
    test = data["tests"][1]
    assert set(test) >= {"score", "max_score", "status", "name", "output", "visibility", "number"}
    assert test["name"] == "shout() upper-cases and adds '!'." and test["visibility"] == "after_due_date"
    extra = data["extra_data"]
    assert {"seed", "libraries", "wall_time", "worker_peak_memory_bytes", "content_hash"} <= set(extra)
    assert extra["worker_peak_memory_bytes"] > 1_000_000
    assert extra["metrics"] == {"bytes_written": 5}
    assert data["leaderboard"] == [{"name": "bytes_written", "value": 5, "order": "desc"}]


def test_one_broken_function_fails_only_its_tests(mini, tmp_path):
    source = GOOD.replace('return text.upper() + "!"', 'raise ValueError("oops")')
    tests = by_id(grade(mini, "mini", submission(tmp_path / "s", source), tmp_path / "out"))
    assert tests["test_add"]["status"] == "passed" and tests["test_write_file"]["status"] == "passed"
    out = tests["test_shout"]["output"]
    assert tests["test_shout"]["score"] == 0
    assert "shout() raised ValueError: oops" in out and 'mini.py", line' in out
    assert "test_mini" not in out  # never the grader's own frames or source


def test_missing_function_timeout_and_exit_are_explained(mini, tmp_path):
    source = """
import os, time
def add(a, b):
    while True:
        time.sleep(0.1)
def write_file(path):
    os._exit(3)
"""
    tests = by_id(grade(mini, "mini", submission(tmp_path / "s", source), tmp_path / "out"))
    assert "did not finish within 10 s" in tests["test_add"]["output"]
    assert "mini.py has no function named shout()" in tests["test_shout"]["output"]
    assert "exit with status 3" in tests["test_write_file"]["output"]


def test_non_json_return_values_are_refused(mini, tmp_path):
    source = GOOD.replace('return text.upper() + "!"', "return object()")
    tests = by_id(grade(mini, "mini", submission(tmp_path / "s", source), tmp_path / "out"))
    assert "cannot be graded" in tests["test_shout"]["output"]


def test_a_wrong_answer_shows_only_the_assertion_message(mini, tmp_path):
    tests = by_id(
        grade(mini, "mini", submission(tmp_path / "s", GOOD.replace("a + b", "a - b")), tmp_path / "out")
    )
    assert tests["test_add"]["output"] == "add(2, 3) is wrong"


EXTRA = '''
from autograder.api import extra_credit


@extra_credit(2)
def test_bonus(student):
    """bonus() doubles its argument."""
    assert student.call("bonus", 21) == 42, "bonus(21) should be 42"
'''


def test_extra_credit_adds_to_the_score_not_to_the_points_possible(mini, tmp_path):
    from autograder.feedback import render_student_markdown, student_feedback
    from autograder.validate import _check_reference

    (mini.assignment_dir("mini") / "hidden" / "test_extra.py").write_text(EXTRA)
    without = grade(mini, "mini", submission(tmp_path / "a", GOOD), tmp_path / "oa")
    bonus = by_id(without)["test_bonus"]
    assert (without.score, bonus["score"], bonus["max_score"]) == (4, 0, 0)
    assert bonus["name"] == "Extra credit: bonus() doubles its argument." and "extra credit" in bonus["tags"]
    assert "mini.py has no function named bonus()" in bonus["output"]

    results = grade(
        mini,
        "mini",
        submission(tmp_path / "b", GOOD + "\ndef bonus(x):\n    return 2 * x\n"),
        tmp_path / "ob",
    )
    data = json.loads((tmp_path / "ob" / "results.json").read_text())
    assert data["score"] == 6 and results.max_score == 4  # the top-level score Gradescope shows includes it
    assert by_id(results)["test_bonus"]["status"] == "passed"
    feedback = render_student_markdown(
        student_feedback(data, student="s", module="mini", title="Mini", due=None)
    )
    assert "**Score: 6 / 4**" in feedback and "passed, +2 of 2 extra" in feedback

    # the reference must earn the extra credit too: 4/4 without it is not full marks
    assert _check_reference("mini", 1, data).ok and not _check_reference("mini", 1, without.to_json()).ok


def test_notebook_and_zip_submissions(mini, tmp_path):
    from autograder.notebook import script_to_notebook

    nb = tmp_path / "nb"
    nb.mkdir()
    (nb / "mini.ipynb").write_text(script_to_notebook("# %%\n%matplotlib inline\n" + GOOD))
    assert grade(mini, "mini", nb, tmp_path / "o1").score == 4
    archive = tmp_path / "sub.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("my-folder/mini.py", GOOD)
    assert grade(mini, "mini", archive, tmp_path / "o2").score == 4


def test_unreadable_submissions_still_get_a_results_file(mini, tmp_path):
    bad_zip = tmp_path / "bad.zip"
    bad_zip.write_bytes(b"this is not a zip")
    results = grade(mini, "mini", bad_zip, tmp_path / "out")
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert data["score"] == 0 and len(data["tests"]) == 3
    assert all("not a readable zip file" in t["output"] for t in data["tests"])
    assert results.max_score == 4
    syntax = grade(mini, "mini", submission(tmp_path / "s", "def add(:\n"), tmp_path / "out2")
    assert "mini.py, line 1: syntax error" in syntax.tests[0].output


def test_results_are_written_after_each_test(mini, tmp_path):
    """A kill mid-run keeps finished tests: the file exists from the start, tests marked not run."""
    source = GOOD.replace('return text.upper() + "!"', "import time; time.sleep(60)")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "autograder.cli",
            "grade",
            "mini",
            str(submission(tmp_path / "s", source)),
            "--out",
            str(tmp_path / "out"),
            "--quiet",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    results = tmp_path / "out" / "results.json"
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if results.exists() and json.loads(results.read_text())["tests"][0]["status"] == "passed":
            break
        time.sleep(0.2)
    proc.kill()
    proc.wait()
    data = json.loads(results.read_text())
    assert data["tests"][0]["status"] == "passed"
    assert data["tests"][1]["status"] == "failed" and "did not run" in data["tests"][1]["output"]


def test_cli_exits_zero_whatever_the_score(mini, tmp_path):
    sub = submission(tmp_path / "s", "x = 1\n")
    done = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "grade", "mini", str(sub), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0
    assert json.loads((tmp_path / "o" / "results.json").read_text())["score"] == 0

    # the grader itself failing (here: a broken course.yaml) still writes results.json, and exits 0
    (mini.root / "course.yaml").write_text("modules: [oops\n")
    done = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "grade", "mini", str(sub), "--out", str(tmp_path / "o2")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    failed = json.loads((tmp_path / "o2" / "results.json").read_text())
    assert failed["score"] == 0 and "failed before it could grade" in failed["tests"][0]["output"]
    assert failed["extra_data"]["grader_failed"] and (tmp_path / "o2" / "grader.log").is_file()


def test_grader_version_moves_with_whatever_decides_a_grade(mini):
    """Batch grading skips a submission already graded by the same grader version, so the version
    must change when the tests, the reference they compare against or the module's limits do."""
    from autograder.grade.runner import grader_version
    from autograder.layout import Layout

    first = grader_version(mini, "mini", "hidden")
    assert grader_version(Layout(mini.root), "mini", "hidden") == first  # stable across processes
    versions = {first}
    reference = mini.reference_dir("mini") / "mini.py"
    reference.write_text(reference.read_text() + "\n# a fix\n")
    versions.add(grader_version(Layout(mini.root), "mini", "hidden"))
    config = mini.root / "course.yaml"
    config.write_text(config.read_text().replace("wall: 60s", "wall: 77s"))
    versions.add(grader_version(Layout(mini.root), "mini", "hidden"))
    assert len(versions) == 3


def test_validation_runs_every_module_in_one_pool_references_first():
    """`course validate` shares one pool across modules: each module's references (its training
    runs) start before any starter or mistake, the rest dearest first (as the last `course mutate`
    timed them), and every check returns to its own module, in order."""
    import threading

    from autograder.validate import Check, Task, run_tasks

    started: list[str] = []
    lock = threading.Lock()

    def task(name: str, long: bool = False, seconds: float = 0.0) -> Task:
        def grade() -> dict:
            with lock:
                started.append(name)
            return {"name": name}

        return Task(lambda res: Check(name.split("/")[0], res["name"], True, ""), grade, long, seconds)

    batches = [
        [task("a/ref", True, 50), task("a/starter", seconds=3), task("a/m0", seconds=2)],
        [task("b/ref", True, 90), task("b/starter", seconds=4), task("b/m0", seconds=120)],
    ]
    checks = run_tasks(batches, jobs=1)
    assert started == ["b/ref", "a/ref", "b/m0", "b/starter", "a/starter", "a/m0"]
    assert [[c.name for c in batch] for batch in checks] == [
        ["a/ref", "a/starter", "a/m0"],
        ["b/ref", "b/starter", "b/m0"],
    ]


def test_a_mistyped_path_or_module_is_not_a_grade(mini, tmp_path):
    """The TA's typo exits non-zero and its results.json says the grader failed, not a zero for the work."""
    sub = submission(tmp_path / "s", "x = 1\n")
    for module, path, said in [
        ("mini", tmp_path / "nope", "no submission at"),
        ("minj", sub, "unknown module"),
    ]:
        out = tmp_path / f"out-{module}"
        done = subprocess.run(
            [sys.executable, "-m", "autograder.cli", "grade", module, str(path), "--out", str(out)],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 2 and said in done.stderr, done.stderr
        results = json.loads((out / "results.json").read_text())
        assert results["extra_data"]["operator_error"] and said in results["extra_data"]["grader_failed"]
        assert "This is not a grade" in results["tests"][0]["output"]


SERVICE = '''
import pytest

from autograder.api import extra_credit


@extra_credit(1)
def test_service(student):
    """A fixture gives the worker an environment and a startup hook, then takes them away."""
    with pytest.raises(ValueError):
        student.restart(startup=["os:system"])  # only the grader's own functions run before student code
    hub = ["autograder.hub.client:route_through_socket"]
    student.restart(env={"COURSE_HUB_SOCKET": "/nowhere.sock", "SERVICE": "on"}, startup=hub)
    assert student.call("env", "SERVICE") == "on" and student.call("hooked") is True
    student.restart()
    assert student.call("env", "SERVICE") is None and student.call("hooked") is False
'''

SERVICE_GOOD = """
import os, sys


def env(name):
    return os.environ.get(name)


def hooked():
    return "huggingface_hub" in sys.modules
"""


def assert_hidden_test_passes(mini, tmp_path, name: str, hidden: str, source: str) -> None:
    """Add hidden test `name` (file <name>.py) to the mini module, grade `source`: the test passed."""
    (mini.assignment_dir("mini") / "hidden" / f"{name}.py").write_text(hidden)
    results = grade(mini, "mini", submission(tmp_path / "s", source), tmp_path / "o")
    test = by_id(results)[name]
    assert test["status"] == "passed", test["output"]


def test_a_fixture_can_restart_the_worker_with_a_service(mini, tmp_path):
    assert_hidden_test_passes(mini, tmp_path, "test_service", SERVICE, GOOD + SERVICE_GOOD)


SEEDING = '''
from autograder.api import extra_credit


@extra_credit(1)
def test_seeding(student):
    """Every call starts from the grading's seed; call_with_global_seed starts it from another."""
    assert student.call("draw") == student.call("draw")
    assert student.call_with_global_seed(1, "draw") == student.call_with_global_seed(1, "draw")
    assert student.call_with_global_seed(1, "draw") != student.call_with_global_seed(2, "draw")
    seeded = [student.call_with_global_seed(g, "draw_seeded", 7) for g in (1, 2)]
    assert seeded[0] == seeded[1]
'''

SEEDING_GOOD = """
import random


def draw():
    return random.random()


def draw_seeded(seed):
    random.seed(seed)
    return random.random()
"""


def test_a_test_can_vary_the_global_seed_a_call_starts_from(mini, tmp_path):
    """How a grader tells a function that seeds itself from one that lives off the ambient seed."""
    assert_hidden_test_passes(mini, tmp_path, "test_seeding", SEEDING, GOOD + SEEDING_GOOD)


SETTINGS = '''
import pytest

from autograder.api import StudentError, extra_credit


@extra_credit(1)
def test_settings(student, reference):
    """A test reads the student's own settings and has the reference compute with them."""
    step = student.constant("STEP")
    assert step == 3
    assert reference.call_with_constants({"STEP": step}, "stepped", 2) == student.call("stepped", 2) == 6
    assert reference.call("stepped", 2) == 2  # the reference's own STEP is back
    with pytest.raises(StudentError, match="has no setting named RATE"):
        student.constant("RATE")
'''

STEPPED = """
STEP = {step}


def stepped(x):
    return x * STEP
"""


def test_a_test_can_read_the_students_settings_and_give_them_to_the_reference(mini, tmp_path):
    """How a grader checks a loop whose hyperparameters are the student's choice (module 3)."""
    reference = mini.reference_dir("mini") / "mini.py"
    reference.write_text(reference.read_text() + STEPPED.format(step=1))
    assert_hidden_test_passes(mini, tmp_path, "test_settings", SETTINGS, GOOD + STEPPED.format(step=3))


def test_the_references_answers_are_computed_once_per_version(mini, tmp_path, monkeypatch):
    """A second grading reads the reference's answers from the cache (same results); a changed
    reference, or another kind of processor (an image built on one machine, run on another), is a
    new version and computes them again. The cache is root's alone and hidden."""
    from autograder.grade.runner import hidden_paths

    first = grade(mini, "mini", submission(tmp_path / "a", GOOD), tmp_path / "o1").to_json()
    second = grade(mini, "mini", submission(tmp_path / "b", GOOD), tmp_path / "o2").to_json()
    assert first["extra_data"]["reference_cached_calls"] == 0
    assert second["extra_data"]["reference_cached_calls"] == 3  # test_add's three reference calls
    assert [t["status"] for t in first["tests"]] == [t["status"] for t in second["tests"]]
    entries = list(mini.reference_cache.rglob("*.json"))
    assert len(entries) == 3 and all(e.stat().st_mode & 0o077 == 0 for e in entries)
    assert mini.reference_cache in hidden_paths(mini, tmp_path, {}, [], tmp_path, tmp_path, tmp_path)

    reference = mini.reference_dir("mini") / "mini.py"
    reference.write_text(reference.read_text() + "\n# a new version\n")
    third = grade(mini, "mini", submission(tmp_path / "c", GOOD), tmp_path / "o3").to_json()
    assert third["extra_data"]["reference_cached_calls"] == 0 and third["score"] == first["score"]
    monkeypatch.setattr("autograder.grade.runner.processor", lambda: "aarch64-0123456789abcdef")
    fourth = grade(mini, "mini", submission(tmp_path / "d", GOOD), tmp_path / "o4").to_json()
    assert fourth["extra_data"]["reference_cached_calls"] == 0 and fourth["score"] == first["score"]


def test_a_reference_call_that_could_write_is_never_answered_from_the_cache(tmp_path):
    from autograder.grade.reference import ReferenceHandle
    from autograder.worker.protocol import ref

    handle = ReferenceHandle(tmp_path, "mini", {}, tmp_path / "s", None, 0, cache=tmp_path / "cache")
    assert handle._entry({"fn": "f", "args": [1, "text", ref("data", rel="x.csv")], "kwargs": {}})
    assert handle._entry({"fn": "f", "args": [ref("scratch", rel="out")], "kwargs": {}}) is None
    assert handle._entry({"fn": "f", "args": [], "kwargs": {"path": str(tmp_path / "out")}}) is None


def test_a_killed_validate_leaves_no_grading_running(mini, tmp_path):
    """validate and mutate grade in child processes: killing them (a TA's ^C, a CI timeout) takes
    the gradings along instead of leaving them to finish unseen."""
    import signal
    import time

    from tests.redteam.conftest import processes_with, wait_until_gone

    slow = submission(
        tmp_path / "slow", GOOD.replace("return a + b", "import time; time.sleep(60); return a + b")
    )
    out = tmp_path / "graded-by-a-killed-parent"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from autograder.layout import Layout\n"
            "from autograder.grade.submissions import grade_in_subprocess\n"
            "grade_in_subprocess(Layout(Path(sys.argv[1])), 'mini', Path(sys.argv[2]), Path(sys.argv[3]))",
            str(mini.root),
            str(slow),
            str(out),
        ]
    )
    grading = f"--out\0{out}"  # the `course grade` child's command line, not the parent's
    deadline = time.monotonic() + 60
    while not (out / "results.json").exists() and time.monotonic() < deadline:
        time.sleep(0.1)  # the grading is under way: its first results are written
    assert processes_with(grading), "the grading never started"
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    assert not wait_until_gone(grading, timeout=10), "the grading outlived the process that started it"


SAVING = '''
import pytest

from autograder.api import StudentError, extra_credit, read_saved_json


@extra_credit(1)
def test_saving(student):
    """A function that returns a model: the worker saves it, only the folder crosses."""
    folder = student.call_and_save("make_model", 3, into="saved")
    assert read_saved_json(folder / "config.json") == {"size": 3}
    with pytest.raises(StudentError, match=r"with save_pretrained\\(\\)\\); it returned int"):
        student.call_and_save("add", 1, 2, into="nothing")
    with pytest.raises(StudentError, match="broken_model\\\\(\\\\) returned raised OSError: disk full"):
        student.call_and_save("broken_model", into="broken")
'''

SAVING_GOOD = """
import json
import os


class Model:
    def __init__(self, size):
        self.size = size

    def save_pretrained(self, folder):
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "config.json"), "w") as fh:
            json.dump({"size": self.size}, fh)


class Broken:
    def save_pretrained(self, folder):
        raise OSError("disk full")


def make_model(size):
    return Model(size)


def broken_model():
    return Broken()
"""


def test_a_returned_model_is_saved_in_the_worker_and_read_as_data(mini, tmp_path):
    """module 5's add_lora() returns a PEFT model: the grader reads the adapter it saves."""
    assert_hidden_test_passes(mini, tmp_path, "test_saving", SAVING, GOOD + SAVING_GOOD)


def test_training_gap_measures_a_training_against_the_correct_one() -> None:
    """Zero for the same training; about one for another (its update counted, a new head from zero);
    a weight the student's model lacks counts whole."""
    import torch

    from autograder.api import training_gap

    start = {"body": torch.zeros(4)}
    want = {"body": torch.tensor([1.0, 0.0, 0.0, 0.0]), "head": torch.tensor([0.0, 1.0])}
    assert training_gap(want, want, start) == 0.0
    other = {"body": torch.tensor([0.0, 1.0, 0.0, 0.0]), "head": torch.tensor([0.0, 1.0])}
    assert abs(training_gap(other, want, start) - 1.0) < 1e-9  # sqrt(2 / 2)
    assert abs(training_gap({"body": want["body"]}, want, start) - (1 / 2) ** 0.5) < 1e-9
    assert training_gap(want, want, want) == 0.0 and training_gap(other, want, want) == float("inf")


def test_a_broken_grader_file_is_logged_with_its_traceback(mini, tmp_path):
    """The student reads a note; the instructor's grader.log names the file and line that broke."""
    (mini.hidden_tests("mini") / "test_broken.py").write_text("import os\n\nLIMIT = undefined_name + 1\n")
    results = grade(mini, "mini", submission(tmp_path / "s", GOOD), tmp_path / "out")
    assert results.extra_data["grader_errors"] == 1 and "could not be loaded" in results.output
    log = (tmp_path / "out" / "grader.log").read_text()
    assert "test_broken.py" in log and "line 3" in log and "undefined_name" in log, log
