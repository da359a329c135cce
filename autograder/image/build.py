"""`course image build`: the course's grading image, from what `course release` produces.

A pipeline of small steps: release zips -> unpacked source (one tree for every module) -> the
build machine's torch wheel, CA bundle, pinned versions and built assets -> Dockerfile -> docker
build (legacy builder, `--network host`: pip reaches the package index, nothing else is pulled).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jinja2
from packaging.utils import canonicalize_name

from autograder.image.docker import Docker, DockerError
from autograder.layout import Layout

CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
MODULE_SCRIPTS = ("setup.sh", "run_autograder")
WHEEL_PORT = 38917
_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("autograder.image", "templates"),
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
)


class ImageBuildError(Exception):
    """The image cannot be built; the message says why."""


@dataclass
class BuiltImage:
    tag: str
    modules: list[str]
    seconds: float
    size: int  # bytes, as the daemon counts them
    layers: list[tuple[str, int]]  # (the step that made it, bytes), largest first


def unpack_releases(zips: dict[str, Path], source: Path) -> None:
    """Every module's zip into one source tree: shared files once (they must agree), each module's
    setup.sh and run_autograder under modules/<id>/."""
    owner: dict[str, str] = {}
    for module, path in zips.items():
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                data = zf.read(info)
                if info.filename in MODULE_SCRIPTS:
                    dest = source / "modules" / module / info.filename
                else:
                    dest = source / info.filename
                    if dest.exists() and dest.read_bytes() != data:
                        raise ImageBuildError(
                            f"{info.filename} differs between the zips of {owner[info.filename]} and "
                            f"{module}: build one image per module (--module)"
                        )
                    owner[info.filename] = module
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
                dest.chmod(0o755 if (info.external_attr >> 16) & 0o111 else 0o644)


def pinned_versions() -> dict[str, str]:
    """The grader's own environment, `name==version` by canonical name (editable installs left out)."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--all", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    )
    pins: dict[str, str] = {}
    for line in done.stdout.splitlines():
        if "==" in line and " @ " not in line:
            pins[canonicalize_name(line.split("==")[0])] = line.strip()
    return pins


def _have(wheels: Path, pin: str) -> bool:
    name, version = pin.split("==")
    stems = {name, canonicalize_name(name).replace("-", "_")}
    return any(any(wheels.glob(f"{stem}-{version}-*.whl")) for stem in stems)


def fill_wheelhouse(wheels: Path, pins: list[str], say: Callable[[str], None]) -> list[str]:
    """The pinned wheels this machine's pip can get (its cache, mirrors, find-links and index; a
    project that publishes only a source archive is built into a wheel here) into `wheels`, kept
    between builds; returns the pins it could not get (the build's pip fetches those itself)."""
    wheels.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    todo = [pin for pin in pins if not _have(wheels, pin)]
    pip = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--prefer-binary", "-w", str(wheels)]
    if todo and subprocess.run([*pip, *todo], capture_output=True, check=False).returncode != 0:
        for pin in todo:  # one at a time: a package pip cannot get must not stop the others
            if not _have(wheels, pin):
                subprocess.run([*pip, pin], capture_output=True, check=False)
    missing = [pin for pin in pins if not _have(wheels, pin)]
    say(
        f"wheelhouse {wheels}: {len(pins) - len(missing)} of {len(pins)} pinned wheels ready in "
        f"{time.monotonic() - started:.1f} s"
        + (f" (from the index: {', '.join(missing)})" if missing else "")
    )
    return missing


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(folder: Path, port: int = WHEEL_PORT) -> Iterator[str]:
    """A find-links page for the build's pip (`--network host` reaches 127.0.0.1): nothing is copied
    into a layer. A fixed port keeps docker's build cache (a changed build-arg invalidates it)."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def built_assets(layout: Layout, modules: list[str]) -> dict[str, Path]:
    """The built assets the modules need that this machine has in its cache, at their current key."""
    from autograder.assets import MANIFEST, AssetStore
    from autograder.release.build import _needed_assets

    store = AssetStore(layout.course, layout.root, layout.asset_cache)
    found = {}
    for name in sorted(set().union(*(_needed_assets(layout, layout.course.module(m)) for m in modules))):
        offline = layout.course.assets[name].offline
        if not (offline and offline.build):
            continue
        try:
            folder = layout.asset_cache / name / store.build_key(name)
        # A key that cannot be computed here leaves the asset to setup.sh. Computing it imports the
        # course's builder module, whose import may raise anything: a deliberate boundary.
        except Exception:  # noqa: BLE001 - whatever the builder's import raises
            continue
        if (folder / MANIFEST).is_file():
            found[name] = folder
    return found


def _link(src: str | Path, dest: str | Path) -> None:
    """A hard link where the cache and the context share a disk (a 500 MB model costs nothing), else a
    copy."""
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


def make_context(layout: Layout, modules: list[str], context: Path, say: Callable[[str], None]) -> list[str]:
    """Write the build context; returns the pins (`name==version`) the image installs."""
    from autograder.release.build import build_release

    shutil.rmtree(context, ignore_errors=True)
    context.mkdir(parents=True)
    releases = build_release(layout, context / "release", modules)
    unpack_releases({r.module: r.autograder_zip for r in releases}, context / "source")
    shutil.rmtree(context / "release")
    build = context / "build"
    build.mkdir()
    if CA_BUNDLE.is_file():
        shutil.copy(CA_BUNDLE, build / "ca.crt")
    else:
        (build / "ca.crt").write_text("")
    # Every version this environment has: as constraints they only pin what setup.sh installs.
    pins = pinned_versions()
    wanted = sorted(pins.values())
    (build / "constraints.txt").write_text("".join(f"{pin}\n" for pin in wanted))
    (build / "assets").mkdir()
    for name, folder in built_assets(layout, modules).items():
        shutil.copytree(folder, build / "assets" / name / folder.name, copy_function=_link)
    hidden = [name for name, a in layout.course.assets.items() if a.hidden]
    secrets = [f"/autograder/assets/{name}" for name in hidden if (build / "assets" / name).exists()]
    torch = pins.get("torch", "").split("==")[-1].split("+")[0]  # the CPU build's public version
    (context / "Dockerfile").write_text(
        _templates.get_template("Dockerfile.j2").render(modules=modules, secrets=secrets, torch=torch)
    )
    script = context / "run_autograder"
    script.write_text(_templates.get_template("run_autograder.j2").render(modules=modules))
    script.chmod(0o755)
    say(f"build context {context}: {len(modules)} module(s), {len(wanted)} pinned versions")
    return wanted


def layer_sizes(docker: Docker, tag: str) -> list[tuple[str, int]]:
    """What takes the room: each layer's size and the step that made it, largest first."""
    out = docker.run("history", "--no-trunc", "--human=false", "--format", "{{.Size}}\t{{.CreatedBy}}", tag)
    rows = []
    for line in out.splitlines():
        size, _, step = line.partition("\t")
        step = step.replace("/bin/sh -c #(nop) ", "").replace("/bin/sh -c ", "RUN ")
        step = " ".join(re.sub(r"^\|\d+ (\S+=\S* )*", "", step).split())  # build-args before a RUN
        if int(size or 0) > 0:
            rows.append((step[:110], int(size)))
    return sorted(rows, key=lambda r: -r[1])


def build_image(
    layout: Layout,
    docker: Docker,
    *,
    base: str,
    tag: str,
    modules: list[str],
    cache: Path,
    say: Callable[[str], None],
    torch_index: str | None = None,
) -> BuiltImage:
    started = time.monotonic()
    context = cache / "context"
    pins = make_context(layout, modules, context, say)
    missing = fill_wheelhouse(cache / "wheels", pins, say)
    args = ["build", "--network", "host", "--rm", "--force-rm", "-t", tag]
    args += ["--build-arg", f"BASE={base}", "--build-arg", f"NO_INDEX={0 if missing else 1}"]
    if torch_index:
        args += ["--build-arg", f"TORCH_INDEX={torch_index}"]
    try:
        with serve(cache / "wheels") as links:
            subprocess.run(
                ["nice", "-n", "10", "docker", *args, "--build-arg", f"WHEELS={links}", str(context)],
                env=docker.env,
                stdin=subprocess.DEVNULL,
                check=True,
            )
    except subprocess.CalledProcessError as exc:
        raise ImageBuildError(f"docker build failed (exit {exc.returncode}): see its output above") from exc
    finally:
        try:  # a failed build leaves stopped containers behind
            docker.run("container", "prune", "-f")
        except DockerError:
            pass
    seconds = time.monotonic() - started
    return BuiltImage(tag, modules, seconds, docker.image_size(tag), layer_sizes(docker, tag))
