"""Listing a revision: its tree (a folder, or everything), paths-info, and the commit history."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Request

from autograder.hub.deps import Readable, Store
from autograder.hub.store import not_found

router = APIRouter()


def entry(path: str, e: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "file", "oid": e["git_oid"], "size": e["size"], "path": path}
    if e["lfs"]:
        out["lfs"] = {"oid": e["sha256"], "size": e["size"], "pointerSize": 134}
    return out


def directory(path: str) -> dict[str, Any]:
    return {"type": "directory", "oid": hashlib.sha1(path.encode()).hexdigest(), "size": 0, "path": path}


def tree_entries(files: dict[str, Any], folder: str, recursive: bool) -> list[dict[str, Any]]:
    prefix = f"{folder}/" if folder else ""
    out, dirs = [], set()
    for path, e in files.items():
        if not path.startswith(prefix):
            continue
        rest = path[len(prefix) :].split("/")
        for depth in range(1, len(rest) if recursive else min(len(rest), 2)):
            dirs.add(prefix + "/".join(rest[:depth]))
        if recursive or len(rest) == 1:
            out.append(entry(path, e))
    out += [directory(d) for d in sorted(dirs)]
    return sorted(out, key=lambda x: str(x["path"]))


@router.get("/api/{kind}/{ns}/{name}/tree/{revision}")
def tree_root(
    request: Request, store: Store, repo: Readable, revision: str, recursive: bool = False
) -> list[dict[str, Any]]:
    return tree(request, store, repo, revision, "", recursive)


@router.get("/api/{kind}/{ns}/{name}/tree/{revision}/{path:path}")
def tree(
    request: Request, store: Store, repo: Readable, revision: str, path: str, recursive: bool = False
) -> list[dict[str, Any]]:
    commit = store.get_commit(repo, unquote(revision))
    folder = path.strip("/")
    listed = tree_entries(commit["files"], folder, recursive)
    if folder and not listed:
        request.state.commit = commit["oid"]
        raise not_found("EntryNotFound", f"{folder} does not exist at {revision}")
    return listed


@router.post("/api/{kind}/{ns}/{name}/paths-info/{revision:path}")
async def paths_info(request: Request, store: Store, repo: Readable, revision: str) -> list[dict[str, Any]]:
    commit = store.get_commit(repo, unquote(revision))
    form = await request.form()
    out = []
    for asked in form.getlist("paths"):
        path = str(asked).strip("/")
        if path in commit["files"]:
            out.append(entry(path, commit["files"][path]))
        elif any(p.startswith(path + "/") for p in commit["files"]):
            out.append(directory(path))
    return out


@router.get("/api/{kind}/{ns}/{name}/commits/{revision:path}")
def commits(store: Store, repo: Readable, revision: str) -> list[dict[str, Any]]:
    return [
        {
            "id": c["oid"],
            "title": c["title"],
            "message": c["message"],
            "authors": [{"user": c["author"]}],
            "date": c["date"],
        }
        for c in store.history(repo, unquote(revision))
    ]
