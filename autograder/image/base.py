"""The default base image: Debian bookworm made from Debian's own packages, no registry pull.

mmdebstrap writes a root filesystem tar once (about 20-30 s, cached on disk); `docker import`
turns it into an image whenever the daemon lacks it (a few seconds).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from autograder.image.docker import Docker

SUITE = "bookworm"
# python3-venv: setup.sh's venv; bubblewrap and util-linux (setpriv): the student sandbox;
# python3-pip: what setup.sh would apt-get install anyway.
PACKAGES = ("python3", "python3-venv", "python3-pip", "ca-certificates", "bubblewrap", "util-linux")
MIRRORS = (
    f"deb http://deb.debian.org/debian {SUITE} main",
    f"deb http://deb.debian.org/debian-security {SUITE}-security main",
)


class BaseImageError(Exception):
    """The base image cannot be made here; the message says what to install."""


def _key() -> str:
    return hashlib.sha256(" ".join([SUITE, *PACKAGES, *MIRRORS]).encode()).hexdigest()[:12]


def default_tag() -> str:
    return f"course-base:{SUITE}-{_key()}"


def base_tar(cache: Path) -> Path:
    return cache / f"{SUITE}-{_key()}.tar"


def make_tar(cache: Path, say: Callable[[str], None]) -> Path:
    """The root filesystem tar, made once with mmdebstrap and kept in `cache`."""
    tar = base_tar(cache)
    if tar.is_file():
        return tar
    if not shutil.which("mmdebstrap"):
        raise BaseImageError("mmdebstrap is not installed: run scripts/install-docker.sh as root")
    cache.mkdir(parents=True, exist_ok=True)
    partial = tar.with_suffix(".partial.tar")
    started = time.monotonic()
    cmd = [
        "mmdebstrap",
        "--variant=minbase",
        "--quiet",
        f"--include={','.join(PACKAGES)}",
        SUITE,
        str(partial),
        *MIRRORS,
    ]
    done = subprocess.run(
        ["nice", "-n", "10", *cmd], capture_output=True, text=True, check=False, env=os.environ
    )
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BaseImageError(f"mmdebstrap failed: {' | '.join(done.stderr.strip().splitlines()[-5:])}")
    partial.rename(tar)
    say(f"base root filesystem {tar} made with mmdebstrap in {time.monotonic() - started:.1f} s")
    return tar


def ensure_base(docker: Docker, cache: Path, say: Callable[[str], None]) -> str:
    """The default base image's tag, imported into the daemon from the cached tar if it lacks it."""
    tag = default_tag()
    if docker.exists(tag):
        return tag
    tar = make_tar(cache, say)
    started = time.monotonic()
    docker.run("import", "-c", "ENV LANG=C.UTF-8", str(tar), tag)
    say(f"base image {tag} imported in {time.monotonic() - started:.1f} s")
    return tag
