"""The pytest plugin that turns hidden graders into Gradescope results.

Tests declare points and visibility with markers; their docstring names them for the student.
Only the failure's message reaches the student: never a traceback, never the test's source.
An extra-credit test has max_score 0 and scores its points when it passes: the top-level score (which
Gradescope takes over the tests' sum) then exceeds the module's points, which stay the same.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest

from autograder.grade.jsonhint import list_tuple_mismatch
from autograder.grade.record import RECORD_ENV, recording
from autograder.grade.results import Results, TestResult
from autograder.worker.client import StudentError, StudentHandle, fmt_bytes

INTERNAL = (
    "The grader itself hit an error in this test ({name}). This is not your fault: "
    "please tell your instructor. Your other tests are unaffected."
)


@dataclass
class GradingContext:
    """What one grading run knows: shared by the plugin, the fixtures and autograder.api."""

    results_path: Path
    student: StudentHandle
    fixtures: dict[str, Any]  # name -> value or zero-argument factory, exposed as session fixtures
    deadline: float
    log_path: Path
    results: Results = field(default_factory=Results)
    metrics: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    by_nodeid: dict[str, TestResult] = field(default_factory=dict)

    def save(self, durable: bool = False) -> None:
        """results.json as it stands. Saved after every test, so a grading killed on the way (out of
        memory) keeps what it finished; only the last save pays for an fsync."""
        self.results.execution_time = round(time.monotonic() - self.started, 3)
        self.results.extra_data["metrics"] = self.metrics
        self.results.write(self.results_path, durable)

    def log(self, text: str) -> None:
        with open(self.log_path, "a", encoding="utf-8") as fh:
            fh.write(text.rstrip() + "\n")


_current: GradingContext | None = None

MARKERS = (
    "points(n): the points this test is worth",
    "extra_credit(n): n points on top of the module's total when it passes",
    "visibility(v): hidden | after_due_date | after_published | visible",
    "tags(*t): learning objectives, shown in Gradescope",
)


def register_markers(config: pytest.Config) -> None:
    """autograder.api's marks (@points...), known to any pytest run that imports the api."""
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)


def current() -> GradingContext:
    if _current is None:
        raise RuntimeError("not inside a grading run")
    return _current


def _describe(item: pytest.Item) -> str:
    """The docstring's first paragraph, plus the parameters of a parametrized test."""
    doc = (getattr(getattr(item, "obj", None), "__doc__", None) or "").strip()
    name = (
        " ".join(doc.split("\n\n")[0].split()) if doc else item.name.removeprefix("test_").replace("_", " ")
    )
    callspec = getattr(item, "callspec", None)
    name = f"{name} [{callspec.id}]" if callspec else name
    return f"Extra credit: {name}" if item.get_closest_marker("extra_credit") else name


def _marker_arg(item: pytest.Item, name: str, default: Any) -> Any:
    marker = item.get_closest_marker(name)
    return marker.args[0] if marker and marker.args else default


class GradingPlugin:
    def __init__(self, ctx: GradingContext) -> None:
        self.ctx = ctx
        self.failures: dict[str, str] = {}
        self.started: dict[str, float] = {}
        self.fixtures: dict[str, list[str]] = {}  # nodeid -> the fixtures the test uses
        self.fixture_calls: dict[str, set[str]] = {}  # fixture -> student functions its setup called
        self.fixture_seconds: dict[str, float] = {}  # shared (not per-test) fixture -> its setup time
        self.shared_setup = 0.0  # seconds the running test spent building shared fixtures
        self.collect_started = time.monotonic()
        self.recording = bool(os.environ.get(RECORD_ENV))
        if self.recording:  # `course mutate` grading the reference: note the arguments and the costs
            arguments: dict[str, Any] = {}
            ctx.results.extra_data["arguments"] = arguments
            ctx.student.call = recording(ctx.student.call, arguments)  # type: ignore[method-assign]

    def pytest_configure(self, config: pytest.Config) -> None:
        global _current
        _current = self.ctx
        register_markers(config)
        # A grader file that fails to load is logged with pytest's report: a native traceback, which
        # names its file and line. (--tb belongs to the terminal plugin, which grading leaves out.)
        config.option.tbstyle = "native"

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        global _current
        _current = None

    def pytest_collection(self, session: pytest.Session) -> None:
        self.collect_started = time.monotonic()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Every selected test gets a results entry now, marked not run until it reports. The time
        collection took is mostly the hidden tests' imports (torch, for the grader's own evaluation)."""
        self.ctx.results.extra_data["collect_seconds"] = round(time.monotonic() - self.collect_started, 3)
        # A test's failure is worded from its exception (pytest_runtest_makereport), and an internal
        # error logs its own traceback: pytest's report goes unread, so from here on it is built in
        # its cheapest style, the exception's text (a traceback costs up to 20 ms a failed test,
        # most of a starter's grading).
        session.config.option.tbstyle = "value"
        for n, item in enumerate(session.items, 1):
            tags = item.get_closest_marker("tags")
            extra = item.get_closest_marker("extra_credit")
            result = TestResult(
                name=_describe(item),
                max_score=0.0 if extra else float(_marker_arg(item, "points", 1)),
                number=str(n),
                visibility=_marker_arg(item, "visibility", "visible"),
                tags=[*(tags.args if tags else []), *(["extra credit"] if extra else [])],
                extra_data={"id": getattr(item, "originalname", None) or item.name},
            )
            if extra:
                result.extra_data["extra_credit"] = float(_marker_arg(item, "extra_credit", 1))
            self.ctx.results.tests.append(result)
            self.ctx.by_nodeid[item.nodeid] = result
            self.fixtures[item.nodeid] = list(getattr(item, "fixturenames", ()))
        self.ctx.save()

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:  # a broken grader file: the instructor must see it, the student gets a note
            self.ctx.log(f"collection error in {report.nodeid}:\n{report.longreprtext}")
            self.ctx.results.output = "Some graders could not be loaded; your instructor has been told."
            self.ctx.results.extra_data["grader_errors"] = (
                self.ctx.results.extra_data.get("grader_errors", 0) + 1
            )

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if time.monotonic() > self.ctx.deadline:
            raise StudentError("The time limit for grading this submission was used up before this test ran.")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, None]:
        outcome = yield
        report = outcome.get_result()
        if call.excinfo is None or item.nodeid in self.failures:
            return
        exc = call.excinfo.value
        if isinstance(exc, StudentError):
            message = str(exc)
        elif isinstance(exc, AssertionError):
            # Only the author's message: pytest's introspection ("assert x == y") could show hidden values.
            message = str(exc).split("\nassert ")[0].strip() or "An expectation of this test was not met."
            if (result := self.ctx.by_nodeid.get(item.nodeid)) and list_tuple_mismatch(call.excinfo.tb):
                result.extra_data["list_vs_tuple"] = True  # `course validate` explains it to the author
        elif isinstance(exc, pytest.skip.Exception):
            message = f"Not graded: {exc.msg}"
        elif isinstance(exc, pytest.fail.Exception):
            message = exc.msg or ""
        else:
            message = INTERNAL.format(name=type(exc).__name__)
            self.ctx.results.extra_data["grader_errors"] = (
                self.ctx.results.extra_data.get("grader_errors", 0) + 1
            )
            self.ctx.log(
                f"internal error in {item.nodeid} ({report.when}):\n"
                + "".join(traceback.format_exception(exc))
            )
        self.failures[item.nodeid] = message

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> Generator[None, Any, None]:
        """Student calls made while building a fixture count for every test that uses it (a session
        fixture that trains once serves many tests): `course mutate` picks tests by these calls, and
        costs a test graded alone with the shared fixtures' setup time."""
        student = self.ctx.student
        outer, student.called = student.called, set()
        started = time.monotonic()
        yield
        if fixturedef.scope != "function":
            self.fixture_seconds[fixturedef.argname] = seconds = time.monotonic() - started
            self.shared_setup += seconds
        self.fixture_calls.setdefault(fixturedef.argname, set()).update(student.called)
        student.called = outer | student.called

    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        self.started[nodeid] = time.monotonic()
        self.shared_setup = 0.0
        self.ctx.student.called = set()

    def pytest_runtest_logfinish(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        result = self.ctx.by_nodeid.get(nodeid)
        if result is None:
            return
        seconds = time.monotonic() - self.started.get(nodeid, time.monotonic())
        result.extra_data["seconds"] = round(seconds, 3)
        if self.recording:  # what the test costs beyond the shared fixtures it uses, and theirs
            result.extra_data["own_seconds"] = round(max(seconds - self.shared_setup, 0.0), 3)
            result.extra_data["fixture_seconds"] = {
                name: round(self.fixture_seconds[name], 3)
                for name in self.fixtures.get(nodeid, ())
                if name in self.fixture_seconds
            }
        used = (self.fixture_calls.get(name, set()) for name in self.fixtures.get(nodeid, ()))
        result.extra_data["calls"] = sorted(self.ctx.student.called.union(*used))
        message = self.failures.get(nodeid)
        passed = message is None
        result.status = "passed" if passed else "failed"
        result.score = result.extra_data.get("extra_credit", result.max_score) if passed else 0.0
        result.output = "Passed." if message is None else message
        self.ctx.save()

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        student = self.ctx.student
        student.close()
        self.ctx.results.extra_data["worker_peak_memory_bytes"] = student.peak_rss
        self.ctx.results.extra_data["output_bytes"] = student.output_printed
        if student.output_dropped:  # printing a lot costs no marks; say why the output looks cut
            note = (
                f"Your code printed {fmt_bytes(student.output_printed)} in all. "
                "The grader kept the first and last "
                f"{fmt_bytes(student.cfg.limits.output // 2)} of each run and graded your work as usual; "
                "remove debugging prints to see all of what matters."
            )
            self.ctx.results.output = f"{self.ctx.results.output}\n\n{note}".strip()
        self.ctx.save()


def _fixture(name: str) -> Any:
    ctx = current()
    value = ctx.fixtures.get(name)
    if callable(value):
        value = ctx.fixtures[name] = value()
    if value is None:
        pytest.skip(f"{name} is not available in this environment")
    return value


# Fixtures every grader can ask for. This module is registered as a pytest plugin by the runner.
@pytest.fixture(scope="session")
def student() -> StudentHandle:
    return current().student


@pytest.fixture(scope="session")
def reference() -> Any:
    return _fixture("reference")


@pytest.fixture(scope="session")
def assets() -> Any:
    return _fixture("assets")


@pytest.fixture(scope="session")
def hidden_data() -> Path:
    return cast(Path, _fixture("hidden_data"))


@pytest.fixture(scope="session")
def public_data() -> Path:
    return cast(Path, _fixture("public_data"))


@pytest.fixture(scope="session")
def seed() -> int:
    return cast(int, _fixture("seed"))
