"""Downloading a file of a revision (GET, or HEAD for its metadata), for models, datasets and spaces."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from autograder.hub.deps import Store, readable
from autograder.hub.store import HubStore, not_found

router = APIRouter()


def resolve_file(
    request: Request, store: HubStore, kind: str, ns: str, name: str, revision: str, path: str
) -> Response:
    repo = readable(request, store, kind, ns, name)
    commit = store.get_commit(repo, unquote(revision))
    e = commit["files"].get(unquote(path))
    if e is None:
        request.state.commit = commit["oid"]
        raise not_found("EntryNotFound", f"{path} does not exist at {revision}")
    etag = e["sha256"] if e["lfs"] else e["git_oid"]
    headers = {"X-Repo-Commit": commit["oid"], "ETag": f'"{etag}"', "Accept-Ranges": "bytes"}
    if e["lfs"]:
        headers |= {"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(e["size"])}
    if request.method == "HEAD":
        return Response(headers={**headers, "Content-Length": str(e["size"])})
    return FileResponse(
        store.object_path(e["sha256"]),
        headers=headers,
        filename=Path(path).name,
        content_disposition_type="inline",
    )


def resolve_route(kind: str) -> Callable[..., Response]:
    def route(request: Request, store: Store, ns: str, name: str, revision: str, path: str) -> Response:
        return resolve_file(request, store, kind, ns, name, revision, path)

    return route


for prefix, kind in (("/datasets", "datasets"), ("/spaces", "spaces"), ("", "models")):
    router.api_route(f"{prefix}/{{ns}}/{{name}}/resolve/{{revision}}/{{path:path}}", methods=["GET", "HEAD"])(
        resolve_route(kind)
    )
