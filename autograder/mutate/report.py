"""What `course mutate` keeps (assignments/<module>/mutants.json) and the author's equivalent list.

Kill rates are computed when read, with the current equivalent list: marking a survivor equivalent
needs no re-run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from autograder.hashing import tree_hash
from autograder.layout import Layout
from autograder.yamlconf import ConfigError, load_model

MUTANT_ID = r"^[A-Za-z_][A-Za-z0-9_]*:[a-z_]+:[0-9a-f]{10}(-[0-9]+)?$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Equivalent(Strict):
    id: str = Field(pattern=MUTANT_ID)  # as `course mutate` prints it: function:operator:hash
    reason: str = Field(min_length=3)  # why no correct grader can tell this mutant from the reference


class Equivalents(Strict):
    equivalent: list[Equivalent] = []

    @model_validator(mode="after")
    def _unique(self) -> Equivalents:
        seen: set[str] = set()
        for i, entry in enumerate(self.equivalent):
            if entry.id in seen:
                raise ValueError(f"equivalent.{i}: {entry.id} is listed twice")
            seen.add(entry.id)
        return self


def load_equivalents(layout: Layout, module_id: str) -> dict[str, str]:
    """id -> reason, from the module's equivalent_mutants.yaml (none if the file is absent)."""
    path = layout.equivalent_mutants_file(module_id)
    if not path.exists():
        return {}
    return {e.id: e.reason for e in load_model(path, Equivalents).equivalent}


class HiddenTest(Strict):
    calls: list[str]  # student functions the test called, on the reference
    seconds: float
    passed: bool
    # None in a map measured before these were: its stages are costed by `seconds` alone
    own_seconds: float | None = None  # the test's time beyond building shared fixtures
    fixtures: dict[str, float] | None = None  # the shared fixtures it uses -> their setup seconds

    @property
    def measured(self) -> bool:
        return self.own_seconds is not None and self.fixtures is not None

    @property
    def own(self) -> float:
        """Its time beyond shared fixtures (all of it, in an older map)."""
        return self.own_seconds if self.own_seconds is not None and self.measured else self.seconds

    @property
    def shared(self) -> dict[str, float]:
        """The shared fixtures it uses and their setup seconds (none known, in an older map)."""
        return self.fixtures if self.fixtures is not None and self.measured else {}

    @property
    def alone(self) -> float:
        """Seconds it takes graded on its own: its shared fixtures are built for it then."""
        return self.own + sum(self.shared.values())


Status = Literal["killed", "survived", "skipped"]


class MutantResult(Strict):
    id: str
    operator: str
    line: int
    diff: str
    status: Status
    detail: str = ""  # the test that killed it, why it was skipped, or why nothing could kill it
    seconds: float = 0.0

    @property
    def graded(self) -> bool:
        """A grading's verdict: killed, or survived with nothing to say why (a survivor that was
        never graded, listed as equivalent or reached by no test, always says why)."""
        return self.status == "killed" or (self.status == "survived" and not self.detail)


class FunctionResult(Strict):
    tests: list[str]  # the hidden tests that exercise it: the only ones a mutant runs
    mutants: list[MutantResult]


class Report(Strict):
    module: str
    fingerprint: str  # of the hidden tests and the reference: results of other graders are stale
    seconds: float
    grading_overhead: float  # seconds a grading takes beyond its tests' own (start-up, imports)
    complete: bool = True  # False while running, and after an interrupted run
    tests: dict[str, HiddenTest]
    arguments: dict[str, dict[str, list[Any]]] = {}  # fn -> position or keyword -> values the tests passed
    functions: dict[str, FunctionResult]
    notes: list[str] = []


def fingerprint(layout: Layout, module_id: str) -> str:
    parts = [
        tree_hash(layout.hidden_tests(module_id), ignore=("__pycache__",)),
        tree_hash(layout.reference_dir(module_id), ignore=("__pycache__",)),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def load_report(path: Path) -> Report:
    try:
        return Report.model_validate(json.loads(path.read_text()))
    except (OSError, ValueError, ValidationError) as exc:
        raise ConfigError(f"{path}: not a `course mutate` report ({exc}); run course mutate again") from None


@dataclass
class Tally:
    killed: int = 0
    survived: int = 0  # not killed, not equivalent
    equivalent: int = 0
    skipped: int = 0

    @property
    def graded(self) -> int:
        return self.killed + self.survived

    @property
    def rate(self) -> float | None:
        """Killed over non-equivalent graded mutants; None when none was graded."""
        return self.killed / self.graded if self.graded else None


def tally(result: FunctionResult, equivalents: dict[str, str]) -> Tally:
    t = Tally()
    for m in result.mutants:
        if m.status == "skipped":
            t.skipped += 1
        elif m.status == "killed":
            t.killed += 1
        elif m.id in equivalents:
            t.equivalent += 1
        else:
            t.survived += 1
    return t


def stale_equivalents(report: Report, equivalents: dict[str, str]) -> list[str]:
    """Listed ids that no longer name a survivor: killed now, or no longer generated."""
    status = {m.id: m.status for f in report.functions.values() for m in f.mutants}
    return [
        f"{i}: {'killed now' if status.get(i) == 'killed' else 'no such mutant'}"
        for i in equivalents
        if status.get(i) in (None, "killed")
    ]
