"""Grade every mutant with only the hidden tests that exercise its function, within a time budget."""

from __future__ import annotations

import ast
import heapq
import os
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from itertools import count, zip_longest
from pathlib import Path
from typing import Any

from autograder.grade.record import RECORD_ENV
from autograder.grade.submissions import grade_in_subprocess, reference_submission, write_submission
from autograder.layout import Layout
from autograder.mutate.operators import (
    Mutant,
    functions,
    generate,
    lines_of,
    outside_functions,
    solution_lines,
)
from autograder.mutate.report import (
    FunctionResult,
    HiddenTest,
    MutantResult,
    Report,
    Status,
    fingerprint,
    load_equivalents,
    load_report,
)
from autograder.yamlconf import ConfigError


def test_map(results: dict[str, Any]) -> dict[str, HiddenTest]:
    """Test id -> the student functions it called on the reference and what it costs (parametrized
    cases merged)."""
    tests: dict[str, HiddenTest] = {}
    for t in results["tests"]:
        extra = t.get("extra_data", {})
        tid = extra.get("id", t["name"])
        seen = tests.get(tid, HiddenTest(calls=[], seconds=0.0, passed=True, own_seconds=0.0, fixtures={}))
        seconds = float(extra.get("seconds", 0.0))
        tests[tid] = HiddenTest(
            calls=sorted({*seen.calls, *extra.get("calls", [])}),
            seconds=round(seen.seconds + seconds, 3),
            passed=seen.passed and t["status"] == "passed",
            own_seconds=round(seen.own + float(extra.get("own_seconds", seconds)), 3),
            fixtures={**seen.shared, **extra.get("fixture_seconds", {})},
        )
    return tests


def callers(sources: list[str]) -> dict[str, set[str]]:
    """function -> the top-level functions that call it, directly or not (a test of `train` also
    exercises the `tokenize` it calls)."""
    direct: dict[str, set[str]] = defaultdict(set)
    for source in sources:
        tree = ast.parse(source)
        names = {f.name for f in functions(tree)}
        for func in functions(tree):
            local = _local_names(func)
            for node in ast.walk(func):
                if (
                    isinstance(node, ast.Name)
                    and isinstance(node.ctx, ast.Load)
                    and node.id in names - local
                    and node.id != func.name
                ):
                    direct[node.id].add(func.name)
    closure: dict[str, set[str]] = {}
    for name in list(direct):
        todo, seen = list(direct[name]), set()
        while todo:
            caller = todo.pop()
            if caller not in seen:
                seen.add(caller)
                todo.extend(direct.get(caller, ()))
        closure[name] = seen
    return closure


def _local_names(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Names a function binds itself (parameters, assignments, imports, nested defs): a local
    `answer = ...` is not a use of the top-level answer()."""
    bound = {a.arg for a in ast.walk(func.args) if isinstance(a, ast.arg)}
    declared_global: set[str] = set()
    for node in ast.walk(func):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bound.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node is not func:
            bound.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Global):
            declared_global.update(node.names)
    return bound - declared_global


def select_tests(
    function: str, tests: dict[str, HiddenTest], calling: dict[str, set[str]], passed: bool = True
) -> list[str]:
    """The tests that call `function` or a function that calls it (and, if `passed`, pass on the
    reference: a test the reference fails cannot tell a mutant from it)."""
    names = {function, *calling.get(function, ())}
    return [tid for tid, t in tests.items() if (t.passed or not passed) and names.intersection(t.calls)]


@dataclass
class Job:
    """One mutant's gradings, in stages from the cheapest tests to the dearest: a later stage runs only
    if the mutant survived the ones before."""

    mutant: Mutant
    stages: list[list[str]]
    estimates: list[float]  # seconds each stage's grading should take, from the reference's test times
    survived: int = 0  # stages graded so far, all survived
    seconds: float = 0.0  # spent on them

    @property
    def estimate(self) -> float:
        """What the next stage should take."""
        return self.estimates[self.survived]

    def after(self, status: Status, detail: str, seconds: float) -> MutantResult | Job:
        """What a stage graded in `seconds` leaves: the job at its next stage if the mutant survived
        and dearer stages are left, else the mutant's verdict."""
        spent = self.seconds + seconds
        if status == "survived" and self.survived + 1 < len(self.stages):
            return replace(self, survived=self.survived + 1, seconds=spent)
        return _result(self.mutant, status, detail, spent)

    def too_dear(self, left: float) -> str:
        """Why the next stage is skipped when `left` seconds of the budget remain."""
        if not self.survived:
            return f"budget: one grading takes ~{self.estimate:.0f} s, {max(left, 0):.0f} s of it left"
        cheaper = sum(len(stage) for stage in self.stages[: self.survived])
        return (
            f"budget: survived its {cheaper} cheaper test(s); the next {len(self.stages[self.survived])} "
            f"take ~{self.estimate:.0f} s, {max(left, 0):.0f} s of it left"
        )


def stage_seconds(tests: list[str], known: dict[str, HiddenTest]) -> float:
    """The tests' own time plus each shared fixture they use, built once."""
    fixtures = {name: cost for t in tests for name, cost in known[t].shared.items()}
    return sum(known[t].own for t in tests) + sum(fixtures.values())


def stages(tests: list[str], known: dict[str, HiddenTest], overhead: float) -> list[list[str]]:
    """`tests` from the cheapest to the dearest (graded alone, shared fixtures included), cut where a
    test costs more than the stage so far and a grading's start: a mutant a cheap test catches never
    waits for a training, and one that only a training catches pays a few cheap stages before it."""
    staged: list[list[str]] = []
    for t in sorted(tests, key=lambda t: known[t].alone):
        if not staged or known[t].alone > overhead + stage_seconds(staged[-1], known):
            staged.append([])
        staged[-1].append(t)
    return staged


def _interleave(mutants: list[Mutant]) -> list[Mutant]:
    """Round-robin over operators: a run cut short by the budget has seen every kind of mistake."""
    by_op: dict[str, list[Mutant]] = defaultdict(list)
    for m in mutants:
        by_op[m.operator].append(m)
    return [m for group in zip_longest(*by_op.values()) for m in group if m is not None]


def _verdict(results: dict[str, Any]) -> tuple[Status, str]:
    """killed (a selected test failed), survived, or skipped when the grader itself failed."""
    extra = results.get("extra_data", {})
    if extra.get("grader_failed"):
        return "skipped", f"the grader failed: {extra['grader_failed']}"
    failed = [t for t in results["tests"] if t["status"] != "passed"]
    if failed:
        first = failed[0]
        message = (first.get("output") or "").strip().splitlines()
        return (
            "killed",
            f"{first['extra_data'].get('id', first['name'])}: {message[0][:120] if message else ''}",
        )
    if extra.get("grader_errors"):
        return "killed", "a grader error (see the grading's grader.log)"
    return "survived", ""


def _grade_stage(
    layout: Layout, module_id: str, files: dict[str, bytes], job: Job, work: Path
) -> MutantResult | Job:
    """Grade the job's next stage: the mutant's verdict, or, if it survived and dearer stages are
    left, the job to go on with."""
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="mutant-", dir=work))
    try:
        sub = write_submission(folder / "sub", {**files, job.mutant.file: job.mutant.source.encode()})
        tests = job.stages[job.survived]
        status, detail = _verdict(
            grade_in_subprocess(layout, module_id, sub, folder / "out", only=tests, first_failure=True)
        )
    except (OSError, ValueError) as exc:  # no results.json: `course grade` broke its contract
        status, detail = "skipped", f"the grading wrote no results ({exc})"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return job.after(status, detail, time.monotonic() - started)


def _result(m: Mutant, status: Status, detail: str, seconds: float = 0.0) -> MutantResult:
    return MutantResult(
        id=m.id,
        operator=m.operator,
        line=m.line,
        diff=m.diff,
        status=status,
        detail=detail,
        seconds=round(seconds, 1),
    )


@dataclass
class ReferenceRun:
    tests: dict[str, HiddenTest]
    arguments: dict[str, dict[str, list[Any]]]  # the scalar values tests passed, by function and parameter
    overhead: float  # seconds a grading takes beyond its tests


def reference_run(layout: Layout, module_id: str, work: Path) -> ReferenceRun:
    """Grade the reference once: which tests call what with which settings, how long each takes."""
    ref = reference_submission(layout, module_id, work / "reference")
    results = grade_in_subprocess(layout, module_id, ref, work / "reference-out", env={RECORD_ENV: "1"})
    tests = test_map(results)
    extra = results.get("extra_data", {})
    wall = float(extra.get("wall_time") or results.get("execution_time") or 0.0)
    overhead = max(wall - sum(t.seconds for t in tests.values()), 1.0)
    return ReferenceRun(tests, extra.get("arguments") or {}, overhead)


def mutate(
    layout: Layout,
    module_id: str,
    only: list[str] | None = None,
    jobs: int = 1,
    budget: float | None = None,
    progress: Callable[[str, MutantResult], None] | None = None,
    regrade: bool = False,
) -> Report:
    """Mutate the reference's solution regions, grade each mutant, write and return the report.

    `only` limits the run to those functions (the report keeps the other functions' last results
    when the graders have not changed since). A mutant the last run graded against the same hidden
    tests and reference keeps its verdict unless `regrade`: a run cut short by its budget goes on
    where it stopped. No mutant starts once `budget` seconds are spent, nor one whose estimated
    grading time exceeds what is left. Mutants the author listed as equivalent are not graded. The
    report is rewritten after every mutant, so an interrupted run keeps what it graded.
    """
    started = time.monotonic()
    module = layout.course.module(module_id)
    ref_dir = layout.reference_dir(module_id)
    files = {f: (ref_dir / f).read_bytes() for f in module.files}
    sources = {f: b.decode() for f, b in files.items() if f.endswith(".py")}
    print_ = fingerprint(layout, module_id)
    path = layout.mutation_report(module_id)
    known = {f.name for src in sources.values() for f in functions(ast.parse(src))}
    if only and (unknown := sorted(set(only) - known)):
        raise ConfigError(
            f"{module_id} has no top-level function {', '.join(unknown)}; it has {', '.join(sorted(known))}"
        )

    with _lock(path), tempfile.TemporaryDirectory(prefix=f"course-mutate-{module_id}-") as tmp:
        work = Path(tmp)
        previous = _previous(path, print_)
        notes: list[str] = []
        # A map where the reference failed a test is not reused (the failure may have been the
        # machine's), nor one measured before fixture costs were.
        if (
            previous is not None
            and previous.tests
            and all(t.passed and t.measured for t in previous.tests.values())
        ):
            ref = ReferenceRun(previous.tests, previous.arguments, previous.grading_overhead)
            notes.append("test map reused from the last run (hidden tests and reference unchanged)")
        else:
            ref = reference_run(layout, module_id, work)
        mutants = [
            m
            for f, src in sources.items()
            for m in generate(src, f, set(only) if only else None, ref.arguments)
        ]
        notes += _notes(ref, sources, mutants, only)
        calling = callers(list(sources.values()))
        selected = {
            name: select_tests(name, ref.tests, calling)
            for name in dict.fromkeys(m.function for m in mutants)
        }
        results: dict[str, list[MutantResult]] = defaultdict(list)
        order = {m.id: i for i, m in enumerate(mutants)}

        def save(complete: bool) -> Report:
            report = Report(
                module=module_id,
                fingerprint=print_,
                seconds=round(time.monotonic() - started, 1),
                grading_overhead=round(ref.overhead, 1),
                complete=complete,
                tests=ref.tests,
                arguments=ref.arguments,
                functions={
                    **(previous.functions if previous and only else {}),
                    **{
                        name: FunctionResult(
                            tests=tests, mutants=sorted(results[name], key=lambda r: order[r.id])
                        )
                        for name, tests in selected.items()
                    },
                },
                notes=notes,
            )
            unfinished = path.with_suffix(".json.partial")
            unfinished.write_text(report.model_dump_json(indent=1) + "\n")
            unfinished.replace(path)
            return report

        def record(function: str, result: MutantResult) -> None:
            results[function].append(result)
            save(complete=False)
            if progress:
                progress(function, result)

        queue: list[Job] = []
        equivalent = load_equivalents(layout, module_id)
        earlier = {} if regrade or previous is None else _verdicts(previous)
        if kept := [m for m in mutants if m.id in earlier and m.id not in equivalent]:
            notes.append(
                f"{len(kept)} verdicts kept from the last run (same hidden tests and reference); "
                "--regrade grades them again"
            )
        for name, tests in selected.items():
            own = _interleave([m for m in mutants if m.function == name])
            for m in [m for m in own if m.id in equivalent]:  # a survivor of every stage: the dearest
                record(name, _result(m, "survived", "listed as equivalent: not graded"))
            own = [m for m in own if m.id not in equivalent]
            for m in [m for m in own if m.id in earlier]:
                results[name].append(earlier[m.id])
            own = [m for m in own if m.id not in earlier]
            if not tests:
                failing = select_tests(name, ref.tests, calling, passed=False)
                why = (
                    f"the tests of {name}() fail on the reference: {', '.join(failing)}"
                    if failing
                    else f"no hidden test calls {name}() or a function that calls it"
                )
                for m in own:
                    record(name, _result(m, "survived", why))
                continue
            split = stages(tests, ref.tests, ref.overhead)
            estimates = [ref.overhead + stage_seconds(stage, ref.tests) for stage in split]
            queue.extend(Job(m, split, estimates) for m in own)
        grade = partial(_grade_stage, layout, module_id, files, work=work)
        _grade_all(queue, jobs, budget, started, grade, record)
        return save(complete=True)


def _grade_all(
    queue: list[Job],
    jobs: int,
    budget: float | None,
    started: float,
    grade: Callable[[Job], MutantResult | Job],
    record: Callable[[str, MutantResult], None],
) -> None:
    """Grade the queue's stages `jobs` at a time, always the cheapest stage waiting: every mutant's
    cheap stage comes before any mutant's training, so a budget kills the most mutants it can. A
    survivor's next stage joins the queue; a stage that no longer fits in the budget is skipped."""
    pending = [(job.estimate, n, job) for n, job in enumerate(queue)]
    heapq.heapify(pending)
    order = count(len(pending))
    running: dict[Future[MutantResult | Job], Job] = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        while pending or running:
            while pending and len(running) < max(1, jobs):
                _, _, job = heapq.heappop(pending)
                left = None if budget is None else budget - (time.monotonic() - started)
                if left is not None and job.estimate > left:
                    record(
                        job.mutant.function, _result(job.mutant, "skipped", job.too_dear(left), job.seconds)
                    )
                    continue
                running[pool.submit(grade, job)] = job
            if running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    job = running.pop(future)
                    if isinstance(outcome := future.result(), Job):
                        heapq.heappush(pending, (outcome.estimate, next(order), outcome))
                    else:
                        record(job.mutant.function, outcome)


def _notes(
    ref: ReferenceRun, sources: dict[str, str], mutants: list[Mutant], only: list[str] | None
) -> list[str]:
    """What the run cannot measure, said in the report rather than silently left out."""
    notes = []
    if failing := sorted(t for t, info in ref.tests.items() if not info.passed):
        notes.append(f"the reference fails {', '.join(failing)}: those tests cannot kill mutants")
    for file, source in sources.items():
        if lines := outside_functions(source, file):
            notes.append(f"{file}: solution lines outside top-level functions are not mutated: {lines}")
        mutated = {m.function for m in mutants}
        idle = [
            f.name
            for f in functions(ast.parse(source))
            if f.name not in mutated
            and (not only or f.name in only)
            and solution_lines(source, file) & set(lines_of(f))
        ]
        if idle:
            notes.append(f"{file}: no operator applies to {', '.join(idle)}")
    return notes


@contextmanager
def _lock(report: Path) -> Iterator[None]:
    """One `course mutate` of a module at a time: two would overwrite each other's report."""
    lock = report.with_name(report.name + ".lock")
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            pid = lock.read_text().strip()
            if pid.isdigit() and _alive(int(pid)):
                raise ConfigError(
                    f"another course mutate (pid {pid}) is writing {report}: wait for it, or stop it"
                ) from None
            lock.unlink(missing_ok=True)  # its process is gone
    else:
        raise ConfigError(f"cannot take {lock}")
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _verdicts(report: Report) -> dict[str, MutantResult]:
    """Mutant id -> its grading's verdict in `report` (skipped and never-graded mutants left out)."""
    return {m.id: m for f in report.functions.values() for m in f.mutants if m.graded}


def _previous(path: Path, current: str) -> Report | None:
    """The last report, if it measured the same graders and reference."""
    if not path.exists():
        return None
    try:
        report = load_report(path)
    except ConfigError:
        return None
    return report if report.fingerprint == current else None
