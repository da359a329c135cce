"""Pushing: preupload (which files go through LFS), the LFS batch API and its signed uploads, and
the commit itself."""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from autograder.hub.deps import Secret, Store, User, Writable, base, sign, writable_repo
from autograder.hub.store import HubError, HubStore

LFS_MIN_SIZE = 1024 * 1024  # files this large (or binary ones) go through LFS, like the Hub's 10 MB rule

router = APIRouter()


@router.post("/api/{kind}/{ns}/{name}/preupload/{revision:path}")
async def preupload(request: Request, repo: Writable) -> dict[str, Any]:
    files = []
    for f in (await request.json()).get("files", []):
        sample = base64.b64decode(f.get("sample", ""))
        lfs = (
            f.get("size", 0) >= LFS_MIN_SIZE
            or b"\0" in sample
            or f["path"].endswith((".safetensors", ".parquet"))
        )
        files.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False})
    return {"files": files}


async def lfs_batch(
    request: Request, store: Store, secret: Secret, who: User, kind: str, ns: str, name: str
) -> JSONResponse:
    writable_repo(store, who, kind, ns, name)
    body = await request.json()
    objects = []
    for obj in body.get("objects", []):
        oid, size = str(obj.get("oid", "")), int(obj.get("size", 0))
        entry: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
        if not store.has_object(oid):
            try:
                if size < 0:
                    raise HubError(400, "BadRequest", "a negative size")
                store.check_upload(size)
            except HubError as exc:  # the LFS batch API's per-object error
                entry["error"] = {"code": exc.status, "message": exc.message}
                objects.append(entry)
                continue
            href = f"{base(request)}/lfs-upload/{oid}?size={size}&sig={sign(secret, oid, size)}"
            entry["actions"] = {"upload": {"href": href, "header": {}, "expires_in": 3600}}
        objects.append(entry)
    return JSONResponse(
        {"transfer": "basic", "objects": objects, "hash_algo": "sha256"},
        media_type="application/vnd.git-lfs+json",
    )


@router.post("/{ns}/{name}.git/info/lfs/objects/batch")
async def model_lfs_batch(
    request: Request, store: Store, secret: Secret, who: User, ns: str, name: str
) -> JSONResponse:
    return await lfs_batch(request, store, secret, who, "models", ns, name)


router.post("/{kind}/{ns}/{name}.git/info/lfs/objects/batch")(lfs_batch)


@router.put("/lfs-upload/{oid}")
async def lfs_upload(
    request: Request, store: Store, secret: Secret, oid: str, size: int, sig: str
) -> Response:
    if not hmac.compare_digest(sig, sign(secret, oid, size)):
        raise HubError(403, "Forbidden", "this upload URL is not valid")
    tmp = store.root / "uploads" / f"{oid}.{secrets.token_hex(4)}"
    written = 0
    with open(tmp, "wb") as fh:
        async for chunk in request.stream():
            written += len(chunk)
            if written > size:
                fh.close()
                tmp.unlink(missing_ok=True)
                raise HubError(400, "BadRequest", "upload is larger than announced")
            fh.write(chunk)
    store.adopt_upload(tmp, oid, size)
    return Response(status_code=200)


@router.post("/api/{kind}/{ns}/{name}/commit/{revision:path}")
async def commit(request: Request, store: Store, who: User, repo: Writable, revision: str) -> dict[str, Any]:
    if request.query_params.get("create_pr"):
        raise HubError(400, "BadRequest", "pull requests are not supported by the course hub")
    header: dict[str, Any] = {}
    operations: list[tuple[Any, ...]] = []
    for line in (await request.body()).splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        key, value = item.get("key"), item.get("value", {})
        if key == "header":
            header = value
        elif key == "file":
            operations.append(("add", value["path"], base64.b64decode(value["content"])))
        elif key == "lfsFile":
            operations.append(("lfs", value["path"], value["oid"], int(value.get("size") or 0)))
        elif key == "deletedFile":
            operations.append(("delete", value["path"]))
        elif key == "deletedFolder":
            operations.append(("delete_folder", value["path"]))
        else:
            raise HubError(400, "BadRequest", f"unsupported commit operation {key!r}")
    operations = [_fill_lfs_size(store, op) for op in operations]
    assert who is not None  # Writable refused an anonymous request
    oid = store.commit(
        repo,
        unquote(revision),
        operations,
        header.get("summary") or "update",
        header.get("description", ""),
        author=who["user"],
        parent=header.get("parentCommit"),
    )
    return {
        "success": True,
        "commitOid": oid,
        "commitUrl": f"{base(request)}/{repo.url_prefix}/commit/{oid}",
        "pullRequestUrl": None,
    }


def _fill_lfs_size(store: HubStore, op: tuple[Any, ...]) -> tuple[Any, ...]:
    """Copies of LFS files may come without a size: take it from the stored object."""
    if op[0] == "lfs" and not op[3] and store.has_object(op[2]):
        return (*op[:3], store.object_path(op[2]).stat().st_size)
    return op
