"""Grade one submission: take it in, start the worker, run the graders, write results.json."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

import pytest

from autograder import __version__
from autograder.assets import AssetError, AssetStore
from autograder.grade import plugin
from autograder.grade.intake import take_in
from autograder.grade.plugin import GradingContext, GradingPlugin
from autograder.grade.reference import ReferenceHandle
from autograder.grade.results import NOT_RUN, Results, failure_results
from autograder.hashing import tree_hash
from autograder.layout import Layout
from autograder.sandbox import choose_backend
from autograder.worker.client import StudentHandle, WorkerConfig

Suite = Literal["hidden", "public"]
HIDE_FROM_WORKER = (
    "COURSE_HIDE_FROM_WORKER"  # more paths to hide, os.pathsep-separated (batch grading sets it)
)
LIBRARIES = (
    "torch",
    "transformers",
    "tokenizers",
    "datasets",
    "evaluate",
    "peft",
    "accelerate",
    "safetensors",
)


# pytest's built-in plugins a grading leaves out: no cache or terminal output of its own, no warnings
# summary, and the rest never used, each costing every grading imports (pdb, xml) or garbage
# collections at the end (unraisableexception, threadexception: they report as warnings).
PLUGINS_OFF = ("cacheprovider", "terminal", "warnings", "debugging", "junitxml", "pastebin", "doctest",
               "unraisableexception", "threadexception")  # fmt: skip


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "autograder": __version__}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def grader_version(layout: Layout, module_id: str, suite: Suite) -> str:
    """Changes whenever anything that decides a grade changes: the tests and their data, the
    reference they compare against, the module's points, limits and seeds, or the framework. A
    stored grade with another version is stale, and batch grading grades that submission again."""
    tests = layout.hidden_tests(module_id) if suite == "hidden" else layout.public_tests(module_id)
    parts = [
        tree_hash(tests, ignore=("__pycache__",)),
        layout.course.module(module_id).model_dump_json(exclude={"resources"}),  # where, not how
        layout.course.limits_for(module_id).model_dump_json(),
        tree_hash(Path(__file__).resolve().parents[1], ignore=("__pycache__",)),
    ]  # the framework
    if layout.reference_dir(module_id).is_dir():
        parts.append(tree_hash(layout.reference_dir(module_id), ignore=("__pycache__",)))
    return f"{__version__}+{hashlib.sha256(chr(0).join(parts).encode()).hexdigest()[:12]}"


def processor() -> str:
    """What decides a float's last bits besides the libraries: the architecture and the instruction
    sets torch's kernels dispatch on. An image's answers, computed when it was built, are reused
    only on the same kind of processor."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.machine()
    keys = ("model name", "flags", "Features", "CPU implementer", "CPU part")
    identity = sorted({line for line in lines if line.split(":")[0].strip() in keys})
    digest = hashlib.sha256("\n".join(identity).encode()).hexdigest()[:16]
    return f"{platform.machine()}-{digest}"


def reference_version(layout: Layout, module_id: str, extra: dict[str, Any], assets: dict[str, str]) -> str:
    """Everything the reference's answers depend on beyond the call itself: the grader version
    (tests, hidden data, reference, framework), the public data, the assets (where they are and
    what course.yaml says they are), the libraries, the processor and the seed."""
    course = layout.course
    data = layout.data_dir(module_id)
    parts = [
        str(extra["grader_version"]),
        tree_hash(data, ignore=("__pycache__",)) if data.is_dir() else "",
        json.dumps(
            {a: [path, course.assets[a].model_dump_json()] for a, path in assets.items()}, sort_keys=True
        ),
        json.dumps(extra["libraries"], sort_keys=True),
        processor(),
        str(extra["seed"]),
    ]
    return hashlib.sha256(chr(0).join(parts).encode()).hexdigest()[:16]


def hidden_paths(
    layout: Layout,
    tests_dir: Path,
    assets: dict[str, str],
    visible: list[str],
    out_dir: Path,
    job: Path,
    submission: Path,
) -> list[Path]:
    """What the sandbox hides from the worker (security-critical): the graders and references of
    every module, the hidden assets (built or not), the repo's history and built releases (autograder
    zips hold hidden tests), this job's results, reference scratch and original submission, and
    whatever batch grading names in COURSE_HIDE_FROM_WORKER."""
    course = layout.course
    return [
        tests_dir,
        layout.root / "reference",
        *(layout.hidden_tests(m.id) for m in course.modules),
        *(Path(path) for a, path in assets.items() if a not in visible),
        *(layout.asset_cache / name for name, spec in course.assets.items() if spec.hidden),
        layout.reference_cache,
        layout.root / ".git",
        layout.root / "release",
        out_dir.resolve(),
        job / "reference",
        submission.resolve(),
        *(Path(p) for p in os.environ.get(HIDE_FROM_WORKER, "").split(os.pathsep) if p),
    ]


def grade(
    layout: Layout,
    module_id: str,
    submission: Path,
    out_dir: Path,
    *,
    suite: Suite = "hidden",
    sandbox: str | None = None,
    seed: int | None = None,
    only: list[str] | None = None,
    first_failure: bool = False,
) -> Results:
    """Grade `submission` into `out_dir/results.json`. `only` restricts the run to those test functions;
    `first_failure` stops it at the first failing test (results.json then lists the tests that ran)."""
    course = layout.course
    module = course.module(module_id)
    limits = course.limits_for(module_id)
    seed = course.defaults.seed if seed is None else seed
    results_path = out_dir / "results.json"
    out_dir.mkdir(parents=True, exist_ok=True)  # grader.log may be written before any results.json
    tests_dir = layout.hidden_tests(module_id) if suite == "hidden" else layout.public_tests(module_id)
    started = time.monotonic()
    backend = choose_backend(sandbox, own_code=suite == "public")
    extra = {
        "module": module_id,
        "suite": suite,
        "seed": seed,
        "libraries": library_versions(),
        "sandbox": backend.name,
        "sandbox_details": backend.details,
        "grader_version": grader_version(layout, module_id, suite),
    }

    store = AssetStore(course, layout.root, layout.asset_cache)
    visible = [a for a in module.assets if not course.assets[a].hidden]
    try:
        assets = store.paths(visible if suite == "public" else module.assets)
    except AssetError as exc:
        results = failure_results(
            f"The autograder is missing a course asset; your instructor has been told. ({exc})",
            module.points,
            extra,
        )
        results.write(results_path)
        return results

    job = Path(tempfile.mkdtemp(prefix=f"course-{module_id}-"))
    try:
        intake = take_in(submission.resolve(), job / "submission", module.files)
        extra["content_hash"] = intake.content_hash
        extra["graded_files"] = intake.graded_from
        scratch = job / "scratch"
        scratch.mkdir()
        (job / "reference").mkdir(mode=0o700)
        backend.protect(hidden_paths(layout, tests_dir, assets, visible, out_dir, job, submission))
        data = layout.data_dir(module_id)
        asset_env = {
            key: value.replace("{path}", assets[a])
            for a in visible
            for key, value in course.assets[a].env.items()
        }
        os.environ.update(asset_env)  # the reference runs in this process: it reads them as the worker does
        cfg = WorkerConfig(
            files_dir=intake.files_dir,
            module_name=Path(module.files[0]).stem,
            scratch=scratch,
            data=data if data.is_dir() else None,
            assets={a: assets[a] for a in visible},
            seed=seed,
            limits=limits,
            backend=backend,
            readonly=[Path(assets[a]) for a in visible] + ([data] if data.is_dir() else []),
            asset_env=asset_env,
        )
        student = StudentHandle(cfg, problem=intake.problem, deadline=started + limits.wall)
        student.prestart()
        ref_dir = layout.reference_dir(module_id)
        fixtures = {
            "reference": (
                lambda: ReferenceHandle(
                    ref_dir,
                    cfg.module_name,
                    cfg.assets,
                    job / "reference",
                    cfg.data,
                    seed,
                    cache=layout.reference_cache
                    / module_id
                    / reference_version(layout, module_id, extra, assets),
                )
            )
            if ref_dir.is_dir()
            else None,
            "assets": store,
            "hidden_data": tests_dir / "data" if (tests_dir / "data").is_dir() else None,
            "public_data": cfg.data,
            "seed": seed,
        }
        ctx = GradingContext(
            results_path=results_path,
            student=student,
            fixtures=fixtures,
            deadline=started + limits.wall,
            log_path=out_dir / "grader.log",
        )
        ctx.results.extra_data.update(extra)
        (job / "pytest.ini").write_text("[pytest]\n")
        args = [
            str(tests_dir),
            "-c",
            str(job / "pytest.ini"),
            "--rootdir",
            str(tests_dir),
            "--confcutdir",
            str(tests_dir),
            *(f"-pno:{name}" for name in PLUGINS_OFF),
            "--assert=plain",
            "--import-mode=importlib",
            "--disable-plugin-autoload",  # the venv's pytest plugins (pytest-randomly reseeds) stay out
        ]
        if only:
            args += ["-k", " or ".join(only)]
        if first_failure:
            args.append("--exitfirst")
        pytest.main(args, plugins=[GradingPlugin(ctx), plugin])
        if first_failure:
            for test in ctx.results.tests:
                if test.output == NOT_RUN:
                    test.output = (
                        "This test did not run: --first-failure stopped the grading at a failing test."
                    )
        student.close()
        ctx.results.extra_data.update(
            wall_time=round(time.monotonic() - started, 3),
            worker_peak_memory_bytes=student.peak_rss,
            grader_peak_memory_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            worker_calls=student.calls,
            student_seconds=round(student.student_seconds, 3),
            student_import_seconds=round(student.import_seconds, 3),
            worker_start_seconds=round(student.start_seconds, 3),
        )
        if isinstance(fixtures["reference"], ReferenceHandle):
            ctx.results.extra_data["reference_seconds"] = round(fixtures["reference"].seconds, 3)
            ctx.results.extra_data["reference_cached_calls"] = fixtures["reference"].cached_calls
        ctx.save(durable=True)
        return ctx.results
    finally:
        backend.close()
        shutil.rmtree(job, ignore_errors=True)
