"""Branches and tags: listing, creating and deleting them."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Request

from autograder.hub.deps import Readable, Store, Writable

router = APIRouter()


@router.get("/api/{kind}/{ns}/{name}/refs")
def refs(store: Store, repo: Readable) -> dict[str, Any]:
    r = store.refs(repo)

    def listing(kind: str, prefix: str) -> list[dict[str, str]]:
        return [
            {"name": n, "ref": f"refs/{prefix}/{n}", "targetCommit": oid}
            for n, oid in sorted(r[kind].items())
        ]

    return {
        "branches": listing("branches", "heads"),
        "tags": listing("tags", "tags"),
        "converts": [],
        "pullRequests": [],
    }


@router.post("/api/{kind}/{ns}/{name}/tag/{revision:path}")
async def create_tag(request: Request, store: Store, repo: Writable, revision: str) -> dict[str, Any]:
    body = await request.json()
    store.set_ref(repo, "tags", str(body.get("tag", "")), unquote(revision))
    return {}


@router.delete("/api/{kind}/{ns}/{name}/tag/{tag:path}")
def delete_tag(store: Store, repo: Writable, tag: str) -> dict[str, Any]:
    store.delete_ref(repo, "tags", unquote(tag))
    return {}


@router.post("/api/{kind}/{ns}/{name}/branch/{branch:path}")
async def create_branch(request: Request, store: Store, repo: Writable, branch: str) -> dict[str, Any]:
    raw = await request.body()
    start = (json.loads(raw) if raw else {}).get("startingPoint") or "main"
    store.set_ref(repo, "branches", unquote(branch), start)
    return {}


@router.delete("/api/{kind}/{ns}/{name}/branch/{branch:path}")
def delete_branch(store: Store, repo: Writable, branch: str) -> dict[str, Any]:
    store.delete_ref(repo, "branches", unquote(branch))
    return {}
