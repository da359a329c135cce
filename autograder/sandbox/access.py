"""Giving an unprivileged uid exactly the paths it needs, and nothing else.

The grader may live where another uid cannot even traverse (this machine's Python sits under
/root, mode 700; a job folder from mkdtemp is 700). Rather than loosening permissions, the worker
is started through a private mount namespace (root only) in which each such path is re-mounted
under a fresh tmpfs that covers its first closed ancestor, and secrets are covered up. Without
mount namespaces (many Docker containers), only folders the grader made itself are opened up.
"""

from __future__ import annotations

import functools
import os
import shlex
import stat
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path


def _allows(st: os.stat_result, uid: int, bits: int) -> bool:
    """Whether `uid` (with no groups) has all of `bits` (r=4, w=2, x=1) by mode alone."""
    shift = 6 if st.st_uid == uid else 0
    return (st.st_mode >> shift) & bits == bits


def closed_ancestor(path: Path, uid: int) -> Path | None:
    """The first folder on the way to `path` that `uid` may not traverse, if any."""
    for folder in [*reversed(path.parents)]:
        if not _allows(os.stat(folder), uid, 1):
            return folder
    return None


def reachable(path: Path, uid: int, write: bool = False) -> bool:
    st = os.stat(path)
    need = 4 | (2 if write else 0) | (1 if stat.S_ISDIR(st.st_mode) else 0)
    return closed_ancestor(path, uid) is None and _allows(st, uid, need)


@functools.cache
def mount_namespaces_work() -> bool:
    """Whether this process may make a private mount namespace (root with CAP_SYS_ADMIN)."""
    if os.geteuid() != 0:
        return False
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"], capture_output=True, check=False
    )
    return probe.returncode == 0


def coverable(secrets: list[Path], needed: list[Path]) -> list[Path]:
    """The secrets to cover: never a folder that holds a needed path (a class folder around the
    course, say), and a secret inside another only through that one (covering both would fail)."""
    needed = [p.resolve() for p in needed]
    kept = {p.resolve() for p in secrets if p.exists()}
    kept = {p for p in kept if not any(n.is_relative_to(p) for n in needed)}
    return sorted(p for p in kept if not any(p != q and p.is_relative_to(q) for q in kept))


def mount_prefix(
    paths: list[Path], uid: int, stage: Path, hide: Sequence[Path] = (), net: bool = False
) -> list[str]:
    """argv to prepend (run as root): a private mount namespace where `uid` reaches every path in
    `paths` and none of `hide`. With `net`, a new network namespace too (no interfaces up)."""
    lines = ["set -e"]
    covers: dict[Path, list[tuple[int, Path]]] = {}
    for i, path in enumerate(sorted(set(paths))):
        top = closed_ancestor(path, uid)
        if top is None or any(path.is_relative_to(p) for _, p in covers.get(top, [])):
            continue
        covers.setdefault(top, []).append((i, path))
    for secret in hide:  # first, so that the re-mounts below (recursive) carry the covers along
        q = shlex.quote(str(secret))
        if secret.is_dir():
            lines.append(f"mount -t tmpfs -o mode=000,size=4k course-hidden {q}")
        elif secret.exists():
            lines.append(f"mount --bind /dev/null {q}")
    for top, inside in covers.items():
        for i, path in inside:
            parked = shlex.quote(str(stage / str(i)))
            lines.append(f"mkdir -p {parked} && mount --rbind {shlex.quote(str(path))} {parked}")
        lines.append(f"mount -t tmpfs -o mode=755,size=1m course-cover {shlex.quote(str(top))}")
        for i, path in inside:
            q = shlex.quote(str(path))
            lines.append(f"mkdir -p {q} && mount --rbind {shlex.quote(str(stage / str(i)))} {q}")
    lines.append('exec "$@"')
    unshare = ["unshare", "--mount", "--propagation", "private", *(["--net"] if net else [])]
    return [*unshare, "sh", "-c", "\n".join(lines), "sh"]


def open_up(paths: list[Path], uid: int) -> list[Path]:
    """Without mount namespaces: let `uid` traverse the folders the grader made under the temp dir.
    Returns the paths that stay out of reach."""
    tmp = Path(tempfile.gettempdir()).resolve()
    for path in paths:
        top = closed_ancestor(path, uid)
        while (
            top is not None and top.is_relative_to(tmp) and top != tmp and os.stat(top).st_uid == os.geteuid()
        ):
            os.chmod(top, os.stat(top).st_mode | 0o001)
            top = closed_ancestor(path, uid)
    return [p for p in paths if not reachable(p, uid)]


def close_off(paths: list[Path]) -> None:
    """Without mount namespaces: make secrets unreadable by everyone but their owner."""
    for path in paths:
        mode = stat.S_IMODE(os.stat(path).st_mode) if path.exists() else 0
        if mode & 0o077:  # one closed already stays as it is (a read-only mount cannot be chmodded)
            os.chmod(path, mode & 0o700)
