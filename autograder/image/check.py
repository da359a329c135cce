"""`course image check`: each module grades in the image exactly as `course grade` grades here.

Run before uploading an image. For every module its reference, untouched starter and one plausible
mistake are graded twice: by `course grade` in a fresh process on this machine, and by
/autograder/run_autograder in a fresh container of the image. The two results.json must agree on
everything a student or the gradebook reads: each test's name, number, score, maximum, status,
message and visibility, the score, the run's output, and the grading's record (module, seed,
library versions, grader version, the files graded). Only how and where a grading ran may differ:
timings, memory peaks, the sandbox backend, the container's own record, the frames of a progress
bar, and Python's patch release (the base image's: Debian's 3.11.2; the libraries are the host's).
A different grader version means the image holds other graders or framework than this checkout.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.image.docker import Docker
from autograder.layout import Layout
from autograder.validate import Mistake

# Where and how fast a grading ran, not what it found.
IGNORED = {
    "execution_time",
    "sandbox",  # uid in a container under Docker's defaults, bwrap on a host that allows it
    "sandbox_details",
    "container",  # course image grade's record of the container
    "reference_cached_calls",  # answers read from a cache: the host's, or the one setup.sh fills
}
TIMING = re.compile(r"(^|_)(seconds|time|bytes)(_|$)")  # wall_time, nf4_seconds_per_token, ...
# A progress bar the student's code printed (a message quotes its last lines) shows whichever frames
# its timing drew, and its rate (a line, or the end of one where a quoted tail starts: "...it/s]"):
# any two runs differ, on one machine too.
PROGRESS = re.compile(r"^.*(?:/s|s/it)\].*$", re.MULTILINE)
# Where the image keeps what the host keeps elsewhere: a library's output may name the path it read.
IMAGE_PATHS = {
    "venv": "/autograder/venv",
    "assets": "/autograder/assets",
    "course": "/autograder/source/course",
}


@dataclass(frozen=True)
class Difference:
    where: str  # e.g. "tests[3] (test_encode).output"
    host: Any
    container: Any


@dataclass
class Comparison:
    module: str
    submission: str  # reference | starter | mistake: <name>
    host: dict[str, Any]
    container: dict[str, Any]
    differences: list[Difference]


def _ignored(key: str) -> bool:
    return key in IGNORED or bool(TIMING.search(key))


def _flatten(value: Any, where: str, paths: list[tuple[str, str]]) -> Iterator[tuple[str, Any]]:
    """Each leaf of a results.json as (path, value), minus what legitimately differs; `paths` are
    (folder, its name) pairs, the longest first."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not _ignored(str(key)):
                yield from _flatten(item, f"{where}.{key}" if where else str(key), paths)
    elif isinstance(value, list) and where == "tests":
        for i, test in enumerate(value):
            ident = test.get("extra_data", {}).get("id", test.get("name")) if isinstance(test, dict) else None
            yield from _flatten(test, f"tests[{i}] ({ident})", paths)
    elif isinstance(value, str):
        if where == "extra_data.libraries.python":  # the patch release is the base image's Python
            value = ".".join(value.split(".")[:2])
        for folder, name in paths:
            value = value.replace(folder, f"<{name}>")
        yield where, PROGRESS.sub("<progress bar>", value)
    else:
        yield where, value


def _longest_first(paths: dict[str, str]) -> list[tuple[str, str]]:
    return sorted(((folder, name) for name, folder in paths.items()), key=lambda p: -len(p[0]))


def differences(
    host: dict[str, Any], container: dict[str, Any], host_paths: dict[str, str] | None = None
) -> list[Difference]:
    """Every field on which the two results.json differ, in the host's order (then the container's
    extra fields); empty when a student and the gradebook would see the same grading. `host_paths`
    names the host's folders that IMAGE_PATHS names in the image (venv, assets, course)."""
    a = dict(_flatten(host, "", _longest_first(host_paths or {})))
    b = dict(_flatten(container, "", _longest_first(IMAGE_PATHS)))
    missing = object()
    return [
        Difference(key, a.get(key, missing), b.get(key, missing))
        for key in [*a, *(k for k in b if k not in a)]
        if a.get(key, missing) != b.get(key, missing)
    ]


def cheap_mistake(mistakes: list[Mistake]) -> Mistake | None:
    """The first mistake that leaves the module's trainings as the reference has them (its code
    defines no function named for training), else the first: each grading runs the whole suite,
    as Gradescope does, so a changed training would cost minutes and prove nothing more."""
    trains = re.compile(r"^def \w*(train|tune)\w*\(", re.MULTILINE)
    return next((m for m in mistakes if not trains.search(m.append)), mistakes[0] if mistakes else None)


def submissions(layout: Layout, module_id: str, work: Path) -> dict[str, Path]:
    """The module's reference, starter and cheap mistake, written as a student would hand them in."""
    from autograder.grade.submissions import reference_submission
    from autograder.validate import load_mistakes, mistake_submission, starter_submission

    subs = {
        "reference": reference_submission(layout, module_id, work / "reference"),
        "starter": starter_submission(layout, module_id, work / "starter"),
    }
    if (mistake := cheap_mistake(load_mistakes(layout, module_id))) is not None:
        subs[f"mistake: {mistake.name}"] = mistake_submission(layout, module_id, mistake, work / "mistake")
    return subs


def check_modules(
    layout: Layout,
    docker: Docker,
    image: str,
    module_ids: list[str],
    *,
    jobs: int = 1,
    keep: Path | None = None,
    done: Callable[[str, list[Comparison]], None] | None = None,
) -> dict[str, list[Comparison]]:
    """Grade each module's submissions on the host and in the image, `jobs` gradings at a time, and
    compare them; `done(module, comparisons)` is called as each module finishes, in order."""
    from autograder.grade.submissions import grade_in_subprocess
    from autograder.image.run import grade_in_container, module_hardware

    def in_container(module_id: str, sub: Path, out: Path) -> dict[str, Any]:
        limits = layout.course.limits_for(module_id)
        points = layout.course.module(module_id).points
        return grade_in_container(
            docker,
            image,
            module_id,
            sub,
            out,
            limits=limits,
            hardware=module_hardware(limits),
            max_score=points,
        )

    compared: dict[str, list[Comparison]] = {}
    with tempfile.TemporaryDirectory(prefix="course-image-check-") as tmp:
        root = keep or Path(tmp)
        plans = {m: submissions(layout, m, Path(tmp) / m) for m in module_ids}
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {
                (m, name): (
                    pool.submit(grade_in_subprocess, layout, m, sub, root / m / _slug(name) / "host"),
                    pool.submit(in_container, m, sub, root / m / _slug(name) / "container"),
                )
                for m, subs in plans.items()
                for name, sub in subs.items()
            }
            for m, subs in plans.items():
                compared[m] = []
                for name in subs:
                    host_future, container_future = futures[(m, name)]
                    host, container = host_future.result(), container_future.result()
                    found = differences(host, container, host_paths(layout))
                    compared[m].append(Comparison(m, name, host, container, found))
                if done:
                    done(m, compared[m])
    return compared


def host_paths(layout: Layout) -> dict[str, str]:
    """This machine's counterparts of IMAGE_PATHS: the venv `course grade` runs in, the built
    assets, the course."""
    return {"venv": sys.prefix, "assets": str(layout.asset_cache), "course": str(layout.root)}


def _slug(name: str) -> str:
    return name.split(":")[0]
