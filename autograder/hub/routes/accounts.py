"""Who am I, creating and deleting repos, the model card check, and a repo's info."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from autograder.hub.deps import Readable, Store, User, base, can_write
from autograder.hub.store import HubError, HubStore, RepoId

router = APIRouter()


@router.get("/api/whoami-v2")
def whoami(who: User) -> dict[str, Any]:
    if who is None:
        raise HubError(401, "Unauthorized", "Invalid credentials in Authorization header")
    return {
        "type": "user",
        "id": who["user"],
        "name": who["user"],
        "fullname": who["user"],
        "orgs": [],
        "auth": {"type": "access_token", "accessToken": {"displayName": "course hub", "role": "write"}},
    }


@router.post("/api/repos/create")
async def create_repo(request: Request, store: Store, who: User) -> JSONResponse:
    body = await request.json()
    if who is None:
        raise HubError(401, "Unauthorized", "a token is required to create a repo; set HF_TOKEN")
    repo = RepoId.parse(
        body.get("type") or "model", body.get("organization") or who["user"], body.get("name", "")
    )
    can_write(who, repo)
    url = f"{base(request)}/{repo.url_prefix}"
    private = bool(body.get("private")) or body.get("visibility") == "private"
    if not store.create(repo, who["user"], private=private):
        return JSONResponse({"error": "You already created this repo", "url": url}, status_code=409)
    return JSONResponse({"url": url, "name": repo.id, "id": repo.id})


@router.delete("/api/repos/delete")
async def delete_repo(request: Request, store: Store, who: User) -> dict[str, Any]:
    body = await request.json()
    ns = body.get("organization") or (who or {}).get("user", "")
    repo = RepoId.parse(body.get("type") or "model", ns, body.get("name", ""))
    can_write(who, repo)
    store.delete(repo)
    return {}


@router.post("/api/validate-yaml")
async def validate_yaml(request: Request) -> JSONResponse:
    """README front matter must be a YAML mapping: the Hub refuses a commit whose card is not."""
    import yaml

    content = str((await request.json()).get("content", ""))
    front = content.split("---", 2)[1] if content.startswith("---") and content.count("---") >= 2 else ""
    try:
        meta = yaml.safe_load(front) if front.strip() else {}
        if not isinstance(meta, dict):
            raise yaml.YAMLError("the metadata is not a mapping")
    except yaml.YAMLError as exc:
        return JSONResponse({"errors": [{"message": f"invalid YAML metadata: {exc}"}]}, status_code=400)
    return JSONResponse({"warnings": []})


@router.get("/api/{kind}/{ns}/{name}")
def repo_info(store: Store, repo: Readable) -> dict[str, Any]:
    return info(store, repo, "main")


@router.get("/api/{kind}/{ns}/{name}/revision/{revision:path}")
def repo_info_at(store: Store, repo: Readable, revision: str) -> dict[str, Any]:
    return info(store, repo, unquote(revision))


def info(store: HubStore, repo: RepoId, revision: str) -> dict[str, Any]:
    commit = store.get_commit(repo, revision)
    meta = store.meta(repo)
    siblings = [
        {
            "rfilename": p,
            "size": e["size"],
            "blobId": e["git_oid"],
            **({"lfs": {"sha256": e["sha256"], "size": e["size"], "pointerSize": 134}} if e["lfs"] else {}),
        }
        for p, e in commit["files"].items()
    ]
    return {
        "_id": repo.id,
        "id": repo.id,
        "modelId": repo.id,
        "author": repo.namespace,
        "sha": commit["oid"],
        "lastModified": commit["date"],
        "createdAt": meta["created"],
        "private": meta["private"],
        "disabled": False,
        "gated": False,
        "downloads": 0,
        "likes": 0,
        "tags": [],
        "siblings": siblings,
        "usedStorage": sum(e["size"] for e in commit["files"].values()),
    }
