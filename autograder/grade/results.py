"""Gradescope's results.json, written atomically after every test so no finished result is lost."""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from rich.table import Table

Visibility = Literal["hidden", "after_due_date", "after_published", "visible"]
NOT_RUN = "This test did not run: grading stopped before it (a time limit or a crash)."


@dataclass
class TestResult:
    __test__ = False  # a result, not a test class for pytest to collect
    name: str
    max_score: float
    number: str
    visibility: Visibility = "visible"
    score: float = 0.0
    status: Literal["passed", "failed"] = "failed"
    output: str = NOT_RUN
    output_format: str = "text"
    tags: list[str] = field(default_factory=list)
    extra_data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Results:
    tests: list[TestResult] = field(default_factory=list)
    output: str = ""
    execution_time: float = 0.0
    visibility: Visibility = "visible"
    stdout_visibility: Visibility = "hidden"
    extra_data: dict[str, Any] = field(default_factory=dict)
    leaderboard: list[dict[str, Any]] = field(default_factory=list)

    @property
    def score(self) -> float:
        return round(sum(t.score for t in self.tests), 4)

    @property
    def max_score(self) -> float:
        return round(sum(t.max_score for t in self.tests), 4)

    def to_json(self) -> dict[str, Any]:
        """A new dict: finite() rebuilds every container, so the caller may change it freely (and
        it is 5x cheaper than dataclasses.asdict's deep copy, paid after every test)."""
        fresh = {f.name: getattr(self, f.name) for f in fields(self)}
        fresh["tests"] = [vars(test) for test in self.tests]
        data: dict[str, Any] = finite(fresh)
        data["score"] = self.score
        if not self.leaderboard:
            del data["leaderboard"]
        return data

    def write(self, path: Path, durable: bool = True) -> None:
        """Durable: fsynced and indented for people. Otherwise an interim save the next one replaces
        (it survives a kill, not a crash): compact, which json's C encoder writes 4x faster."""
        write_json_atomic(path, self.to_json(), durable, indent=2 if durable else None)


def score_text(test: dict[str, Any]) -> str:
    """A test's score as people read it: "1/2", or "+2 of 2 extra" for an extra-credit test."""
    extra = test.get("extra_data", {}).get("extra_credit")
    if extra:
        return f"+{test['score']:g} of {extra:g} extra"
    return f"{test['score']:g}/{test['max_score']:g}"


def extra_credit_possible(tests: list[dict[str, Any]]) -> float:
    """The points a results file's extra-credit tests are worth together (0 when it has none)."""
    return float(sum(t.get("extra_data", {}).get("extra_credit", 0) for t in tests))


def finite(value: Any) -> Any:
    """JSON has no NaN or infinity: write them as null so results.json always parses."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def write_json_atomic(path: Path, data: Any, durable: bool = True, indent: int | None = 2) -> None:
    """Write to a temporary file beside `path`, fsync, then rename: readers see old or new, never half.
    Without `durable`, no fsync: the file outlives this process (a kill), not the machine (a crash)."""
    data = finite(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(data, indent=indent, allow_nan=False, default=str) + "\n")  # C encoder
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def read_results(path: Path) -> dict[str, Any] | None:
    """A results.json a grading process wrote, or None when it is missing, unreadable or not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("tests"), list) else None


def failure_results(message: str, max_score: float, extra: dict[str, Any] | None = None) -> Results:
    """A results file for when grading could not start: one failed test that explains why."""
    return Results(
        tests=[TestResult(name="Grading", max_score=max_score, number="0", output=message)],
        output=message,
        extra_data=extra or {},
    )


def results_table(results: dict[str, Any], title: str) -> Table:
    """results.json as a console table: each test's score and the first line of what it said."""
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("test")
    table.add_column("score", justify="right")
    table.add_column("message", overflow="fold", max_width=70)
    for t in results["tests"]:
        colour = "green" if t["status"] == "passed" else "red"
        message = "" if t["status"] == "passed" else t["output"].splitlines()[0] if t["output"] else ""
        table.add_row(t["number"], t["name"], f"[{colour}]{score_text(t)}[/]", message)
    total = sum(t["max_score"] for t in results["tests"])
    extra = extra_credit_possible(results["tests"])
    table.caption = (
        f"total {results['score']:g}/{total:g}"
        + (f" (extra credit included, {extra:g} possible)" if extra else "")
        + f" in {results.get('execution_time', 0):.1f} s"
    )
    return table
