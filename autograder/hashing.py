"""Content hashes of files and folders: the identity of submissions, assets and graders."""

from __future__ import annotations

import hashlib
from pathlib import Path


def tree_hash(root: Path, ignore: tuple[str, ...] = ()) -> str:
    """sha256 over every regular file's relative path and bytes, in sorted order."""
    digest = hashlib.sha256()
    if root.is_file():
        digest.update(root.read_bytes())
        return digest.hexdigest()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        rel = path.relative_to(root).as_posix()
        if any(part in ignore for part in Path(rel).parts):
            continue
        digest.update(rel.encode() + b"\0")
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()
