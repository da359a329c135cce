"""Take a submission in: a folder or a zip, checked before any of it runs.

Refuses links, absolute or `..` paths, archives that expand past a byte budget (counted while
extracting, never trusted from headers), too many files, oversized files, non-UTF-8 source and
syntax errors. Every refusal is a sentence the student can act on.
"""

from __future__ import annotations

import ast
import json
import lzma
import os
import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.hashing import tree_hash
from autograder.notebook import notebook_module, notebook_to_script, syntax_error_cell

MAX_FILES = 200
MAX_FILE_BYTES = 20 * 1024**2
MAX_TOTAL_BYTES = 100 * 1024**2
MAX_NOTEBOOK_CELLS = 2000  # a handout has ~50; parsing each costs the trusted grader memory and time
IGNORED = {"__MACOSX", ".git", "__pycache__", ".ipynb_checkpoints", ".DS_Store"}


class IntakeError(Exception):
    """The submission cannot be graded; the message tells the student why."""


@dataclass
class Intake:
    files_dir: Path
    problem: str | None = None
    content_hash: str = ""
    files: list[str] = field(default_factory=list)
    graded_from: dict[str, str] = field(default_factory=dict)  # expected name -> the file graded for it


def _safe_relpath(name: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise IntakeError(f"the archive holds an absolute path ({name}); zip your files with relative paths")
    if ".." in path.parts:
        raise IntakeError(f"the archive holds a path that leaves its folder ({name})")
    return path


def _skip(path: PurePosixPath) -> bool:
    return any(part in IGNORED or part.startswith("._") for part in path.parts)


def extract_zip(archive: Path, dest: Path) -> None:
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise IntakeError(f"the submission is not a readable zip file ({exc})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_FILES * 5:
            raise IntakeError(
                f"the archive holds {len(infos)} entries; at most {MAX_FILES} files are accepted"
            )
        total = 0
        count = 0
        for info in infos:
            rel = _safe_relpath(info.filename)
            if _skip(rel) or info.is_dir():
                continue
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise IntakeError(
                    f"the archive holds a symbolic link ({info.filename}); submit regular files only"
                )
            count += 1
            if count > MAX_FILES:
                raise IntakeError(f"the submission has more than {MAX_FILES} files")
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            try:
                with zf.open(info) as src, open(target, "wb") as out:
                    while chunk := src.read(1 << 16):
                        written += len(chunk)
                        total += len(chunk)
                        if written > MAX_FILE_BYTES:
                            raise IntakeError(
                                f"{info.filename} is larger than {MAX_FILE_BYTES // 1024**2} MiB"
                            )
                        if total > MAX_TOTAL_BYTES:
                            raise IntakeError(
                                f"the archive expands to more than {MAX_TOTAL_BYTES // 1024**2} MiB"
                            )
                        out.write(chunk)
            # what a damaged or exotic member raises: each decompressor has its own error
            except (
                zipfile.BadZipFile,
                EOFError,
                OSError,
                RuntimeError,
                zlib.error,
                lzma.LZMAError,
                NotImplementedError,
            ) as exc:
                if isinstance(exc, IntakeError):
                    raise
                raise IntakeError(f"the archive is corrupt ({info.filename}: {exc})") from None


def copy_folder(src: Path, dest: Path) -> None:
    count = total = 0
    for root, dirs, files in os.walk(src, followlinks=False):
        rel_root = Path(root).relative_to(src)
        dirs[:] = sorted(d for d in dirs if not _skip(PurePosixPath(d)))
        for d in dirs:
            if (Path(root) / d).is_symlink():
                raise IntakeError(f"{rel_root / d} is a symbolic link; submit regular files only")
        for name in sorted(files):
            path = Path(root) / name
            rel = rel_root / name
            if _skip(PurePosixPath(rel.as_posix())):
                continue
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                raise IntakeError(f"{rel} is a symbolic link; submit regular files only")
            if not stat.S_ISREG(st.st_mode):
                raise IntakeError(f"{rel} is not a regular file")
            if st.st_nlink > 1:
                raise IntakeError(f"{rel} is a hard link; submit regular files only")
            count += 1
            total += st.st_size
            if count > MAX_FILES:
                raise IntakeError(f"the submission has more than {MAX_FILES} files")
            if st.st_size > MAX_FILE_BYTES:
                raise IntakeError(f"{rel} is larger than {MAX_FILE_BYTES // 1024**2} MiB")
            if total > MAX_TOTAL_BYTES:
                raise IntakeError(f"the submission is larger than {MAX_TOTAL_BYTES // 1024**2} MiB")
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest / rel, follow_symlinks=False)


def _find(raw: Path, name: str) -> Path | None:
    """The shallowest file called `name` anywhere in the submission (students zip folders too)."""
    matches = sorted(raw.rglob(name), key=lambda p: (len(p.parts), str(p)))
    return next((m for m in matches if m.is_file()), None)


def _read_source(path: Path, shown: str) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IntakeError(f"{shown} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None


def stubs_left(source: str) -> int:
    """How many of the starter's `raise NotImplementedError` stubs a source still holds. A source
    that does not parse counts as worked on (0): its syntax error is what the student must see."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return 0
    raised = (
        node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        for node in ast.walk(tree)
        if isinstance(node, ast.Raise)
    )
    return sum(isinstance(exc, ast.Name) and exc.id == "NotImplementedError" for exc in raised)


def _notebook_text(nb: Path) -> str:
    """A notebook's JSON (20 MiB at most, as any file), with at most MAX_NOTEBOOK_CELLS cells
    before nbformat validates and converts each of them."""
    text = _read_source(nb, nb.name)
    try:
        cells = json.loads(text).get("cells")
    except (ValueError, AttributeError):
        return text  # not a notebook: nbformat says so in its own words
    if isinstance(cells, list) and len(cells) > MAX_NOTEBOOK_CELLS:
        raise IntakeError(f"{nb.name} has {len(cells)} cells; at most {MAX_NOTEBOOK_CELLS} are accepted")
    return text


def _notebook_source(nb: Path) -> str:
    try:
        return notebook_to_script(_notebook_text(nb))
    except IntakeError:
        raise
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds
        raise IntakeError(f"{nb.name} is not a valid notebook ({type(exc).__name__}: {exc})") from None


def _pick_source(py: Path | None, nb: Path | None) -> tuple[Path, str]:
    """The release ships X.py and X.ipynb and students work in either, so a submission often holds
    both: grade the one with fewer starter stubs left (the .py on a tie, or if the notebook is
    unreadable)."""
    if py is None:
        assert nb is not None, "the caller found a .py or a .ipynb"
        return nb, _notebook_source(nb)
    source = _read_source(py, py.name)
    if nb is None:
        return py, source
    try:
        nb_source = _notebook_source(nb)
    except IntakeError:
        return py, source
    return (nb, nb_source) if stubs_left(nb_source) < stubs_left(source) else (py, source)


def take_in(submission: Path, workdir: Path, expected: list[str]) -> Intake:
    """Unpack `submission` under `workdir`; put the expected student files in `workdir/files`."""
    raw = workdir / "raw"
    files_dir = workdir / "files"
    for d in (raw, files_dir):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    intake = Intake(files_dir=files_dir)
    try:
        if submission.is_symlink():
            raise IntakeError("the submission path is a symbolic link")
        if submission.is_dir():
            copy_folder(submission, raw)
        elif submission.is_file() and submission.suffix == ".zip":
            extract_zip(submission, raw)
        elif submission.is_file() and submission.suffix in (".py", ".ipynb"):
            copy_file(submission, raw)
        else:
            raise IntakeError(f"{submission.name} is neither a folder, a .zip, a .py nor an .ipynb file")
        intake.content_hash = tree_hash(raw)
        for name in expected:
            stem = Path(name).stem
            py, nb = _find(raw, f"{stem}.py"), _find(raw, f"{stem}.ipynb")
            if py is None and nb is None:
                present = ", ".join(sorted(p.name for p in raw.rglob("*") if p.is_file())[:10]) or "nothing"
                raise IntakeError(f"your submission has no {stem}.py or {stem}.ipynb (it holds: {present})")
            chosen, source = _pick_source(py, nb)
            intake.graded_from[f"{stem}.py"] = chosen.name
            if chosen.suffix == ".ipynb":  # checked cell by cell, as the student sees it, and run so
                notebook = _notebook_text(chosen)
                if where := syntax_error_cell(notebook):
                    raise IntakeError(f"{chosen.name}, {where}. Fix it, then resubmit.")
                source = notebook_module(notebook)
            try:
                ast.parse(source, filename=name)
            except SyntaxError as exc:
                raise IntakeError(
                    f"{chosen.name}, line {exc.lineno}: syntax error: {exc.msg}. Fix it, then resubmit."
                ) from None
            (files_dir / f"{stem}.py").write_text(source, encoding="utf-8")
            intake.files.append(f"{stem}.py")
    except IntakeError as exc:
        intake.problem = f"Your submission could not be graded: {exc}"
        if not intake.content_hash:
            intake.content_hash = (
                tree_hash(submission) if submission.exists() and not submission.is_symlink() else ""
            )
    return intake


def copy_file(path: Path, dest: Path) -> None:
    """A single-file submission (.py or .ipynb) into `dest`, size-capped like any file in a folder."""
    st = path.lstat()
    if st.st_size > MAX_FILE_BYTES:
        raise IntakeError(f"{path.name} is larger than {MAX_FILE_BYTES // 1024**2} MiB")
    shutil.copyfile(path, dest / path.name)
