"""The grading framework as a wheel, for releases to carry: students and graders install exactly the
framework the instructor validated with, pinned by version and sha256, from the release itself.

From a source checkout (pyproject.toml beside the package) the wheel is built by pip and setuptools
from a copy of the source; from an installed wheel it is packed again from the installed files.
Either way the same sources give the same bytes (SOURCE_DATE_EPOCH, sorted entries, fixed dates).
"""

from __future__ import annotations

import base64
import csv
import email
import hashlib
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

import autograder

PACKAGE = Path(autograder.__file__).resolve().parent
ZIP_EPOCH = 315532800  # 1980-01-01, the earliest date a zip holds
_NOT_SHIPPED = {"INSTALLER", "REQUESTED", "direct_url.json", "RECORD"}


class FrameworkError(Exception):
    """The framework cannot be packed into a wheel; the release is refused."""


@dataclass(frozen=True)
class Wheel:
    filename: str
    data: bytes
    name: str  # the distribution name, as pip spells it in requirements
    version: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


def distribution_name() -> str:
    """The installed distribution that provides the `autograder` package."""
    names = metadata.packages_distributions().get(PACKAGE.name, [])
    if not names:
        raise FrameworkError(f"{PACKAGE.name} is not installed as a distribution: pip install it first")
    return names[0]


def _source_tree() -> Path | None:
    """The checkout the package is imported from, when it is one (pyproject.toml naming this project)."""
    pyproject = PACKAGE.parent / "pyproject.toml"
    if not pyproject.is_file():
        return None
    name = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {}).get("name", "")
    return PACKAGE.parent if _norm(name) == _norm(distribution_name()) else None


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _build_from_source(source: Path) -> bytes:
    """pip + setuptools, on a copy of pyproject.toml and the package: the checkout stays untouched."""
    with tempfile.TemporaryDirectory(prefix="framework-wheel-") as tmp:
        copy = Path(tmp) / "src"
        copy.mkdir()
        shutil.copy2(source / "pyproject.toml", copy / "pyproject.toml")
        shutil.copytree(
            source / PACKAGE.name, copy / PACKAGE.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
        out = Path(tmp) / "dist"
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out)]
        env = {**os.environ, "SOURCE_DATE_EPOCH": str(ZIP_EPOCH)}
        if importlib.util.find_spec("setuptools"):  # offline: build with this environment's setuptools
            cmd.append("--no-build-isolation")
            env["PIP_NO_INDEX"] = "1"
        done = subprocess.run([*cmd, str(copy)], env=env, capture_output=True, text=True, check=False)
        wheels = sorted(out.glob("*.whl"))
        if done.returncode or len(wheels) != 1:
            raise FrameworkError(f"building the framework wheel failed: {done.stderr.strip()[-500:]}")
        return wheels[0].read_bytes()


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _repack_installed(dist: metadata.Distribution) -> bytes:
    """The installed files the wheel had (the package and its dist-info), packed again with a fresh RECORD."""
    info = f"{dist.metadata['Name'].replace('-', '_')}-{dist.version}.dist-info"
    files: dict[str, bytes] = {}
    for entry in dist.files or []:
        rel = entry.as_posix()
        top = rel.split("/", 1)[0]
        if (top == PACKAGE.name and "__pycache__" not in rel) or (
            top.endswith(".dist-info") and rel.rsplit("/", 1)[-1] not in _NOT_SHIPPED
        ):
            files[rel if top == PACKAGE.name else f"{info}/{rel.split('/', 1)[1]}"] = Path(
                str(entry.locate())
            ).read_bytes()
    if not any(k.startswith(f"{PACKAGE.name}/") for k in files):
        raise FrameworkError(f"{dist.metadata['Name']} is installed without its files (RECORD lists none)")
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for rel in sorted(files):
        writer.writerow([rel, _record_hash(files[rel]), len(files[rel])])
    writer.writerow([f"{info}/RECORD", "", ""])
    files[f"{info}/RECORD"] = record.getvalue().encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel in sorted(files):
            member = zipfile.ZipInfo(rel, (1980, 1, 1, 0, 0, 0))
            member.external_attr = 0o644 << 16
            member.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(member, files[rel])
    return buffer.getvalue()


@cache
def framework_wheel() -> Wheel:
    """The wheel of the framework this process runs (built once per process)."""
    dist = metadata.distribution(distribution_name())
    source = _source_tree()
    data = _build_from_source(source) if source else _repack_installed(dist)
    name, version = dist.metadata["Name"], dist.version
    if source:  # the checkout's pyproject may be newer than the installed metadata
        project = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        name, version = project["name"], project["version"]
    filename = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    return Wheel(filename, data, name, version)


def wheel_metadata(data: bytes) -> tuple[str, str, str]:
    """(name, version, entry_points.txt) read from a wheel's own dist-info."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        meta = next((n for n in names if n.endswith(".dist-info/METADATA")), None)
        if meta is None:
            raise FrameworkError("the framework wheel holds no METADATA")
        header = email.message_from_bytes(zf.read(meta))
        entry = next((n for n in names if n.endswith(".dist-info/entry_points.txt")), None)
        points = zf.read(entry).decode() if entry else ""
    return str(header["Name"] or ""), str(header["Version"] or ""), points
