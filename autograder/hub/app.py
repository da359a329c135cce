"""The class hub's HTTP API: the part of the Hugging Face Hub API that `huggingface_hub` uses to
create repos, push (preupload, LFS batch + upload, commit), tag and branch, list, and download.

Errors carry the `X-Error-Code` header (RepoNotFound, RevisionNotFound, EntryNotFound) that the
client turns into its own exceptions. Writes need a token whose user owns the namespace.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from pathlib import Path
from urllib.parse import unquote

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from autograder.hub.store import MAX_REQUEST_BYTES, HubError, HubStore, RepoId, not_found

KINDS = {"models": "model", "datasets": "dataset", "spaces": "space"}
LFS_MIN_SIZE = 1024 * 1024  # files this large (or binary ones) go through LFS, like the Hub's 10 MB rule


class BodyLimit:
    """Every request body but an LFS upload's (streamed to disk) is read into memory: at most `limit`
    bytes of it, counted as it arrives (a Content-Length can lie, a chunked body has none)."""

    def __init__(self, app, limit: int = MAX_REQUEST_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/lfs-upload/"):
            return await self.app(scope, receive, send)
        seen = 0

        async def bounded():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise HubError(413, "PayloadTooLarge", f"a request body is at most {self.limit:,} bytes")
            return message

        await self.app(scope, bounded, send)


def create_app(store: HubStore, max_request_bytes: int = MAX_REQUEST_BYTES) -> FastAPI:
    app = FastAPI(title="course hub", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(BodyLimit, limit=max_request_bytes)
    secret = secrets.token_bytes(32)

    @app.exception_handler(HubError)
    async def _hub_error(request: Request, exc: HubError) -> JSONResponse:
        headers = {"X-Error-Code": exc.code, "X-Error-Message": exc.message}
        if commit := getattr(request.state, "commit", None):
            headers["X-Repo-Commit"] = commit
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=headers)

    # -- who is asking ------------------------------------------------------------------------
    def user(request: Request) -> dict | None:
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else None
        found = store.user_for(token)
        if token and found is None:
            raise HubError(401, "Unauthorized", "Invalid credentials in Authorization header")
        return found

    def can_write(who: dict | None, repo: RepoId) -> None:
        if who is None:
            raise HubError(401, "Unauthorized", "a token is required to write; set HF_TOKEN")
        if not (who["admin"] or who["user"] == repo.namespace):
            raise HubError(403, "Forbidden", f"{who['user']} cannot write to the {repo.namespace} namespace")

    def readable(request: Request, kind: str, ns: str, name: str) -> RepoId:
        repo = RepoId.parse(KINDS.get(kind, kind), ns, name)
        if store.meta(repo)["private"]:
            who = user(request)
            if who is None or not (who["admin"] or who["user"] == repo.namespace):
                raise not_found("RepoNotFound", f"Repository {repo.id} not found")
        return repo

    def writable(request: Request, kind: str, ns: str, name: str) -> RepoId:
        repo = RepoId.parse(KINDS.get(kind, kind), ns, name)
        can_write(user(request), repo)
        store.require(repo)
        return repo

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    # -- accounts and repos -------------------------------------------------------------------
    @app.get("/api/whoami-v2")
    def whoami(request: Request) -> dict:
        who = user(request)
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

    @app.post("/api/repos/create")
    async def create_repo(request: Request) -> JSONResponse:
        body = await request.json()
        who = user(request)
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

    @app.delete("/api/repos/delete")
    async def delete_repo(request: Request) -> dict:
        body = await request.json()
        who = user(request)
        ns = body.get("organization") or (who or {}).get("user", "")
        repo = RepoId.parse(body.get("type") or "model", ns, body.get("name", ""))
        can_write(who, repo)
        store.delete(repo)
        return {}

    @app.post("/api/validate-yaml")
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

    @app.get("/api/{kind}/{ns}/{name}")
    def repo_info(request: Request, kind: str, ns: str, name: str) -> dict:
        return info(request, readable(request, kind, ns, name), "main")

    @app.get("/api/{kind}/{ns}/{name}/revision/{revision:path}")
    def repo_info_at(request: Request, kind: str, ns: str, name: str, revision: str) -> dict:
        return info(request, readable(request, kind, ns, name), unquote(revision))

    def info(request: Request, repo: RepoId, revision: str) -> dict:
        commit = store.get_commit(repo, revision)
        meta = store.meta(repo)
        siblings = [
            {
                "rfilename": p,
                "size": e["size"],
                "blobId": e["git_oid"],
                **(
                    {"lfs": {"sha256": e["sha256"], "size": e["size"], "pointerSize": 134}}
                    if e["lfs"]
                    else {}
                ),
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

    # -- pushing ------------------------------------------------------------------------------
    @app.post("/api/{kind}/{ns}/{name}/preupload/{revision:path}")
    async def preupload(request: Request, kind: str, ns: str, name: str, revision: str) -> dict:
        writable(request, kind, ns, name)
        files = []
        for f in (await request.json()).get("files", []):
            sample = base64.b64decode(f.get("sample", ""))
            lfs = (
                f.get("size", 0) >= LFS_MIN_SIZE
                or b"\0" in sample
                or f["path"].endswith((".safetensors", ".parquet"))
            )
            files.append(
                {"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False}
            )
        return {"files": files}

    def sign(oid: str, size: int) -> str:
        return hmac.new(secret, f"{oid}:{size}".encode(), hashlib.sha256).hexdigest()

    async def lfs_batch(request: Request, kind: str, ns: str, name: str) -> JSONResponse:
        writable(request, kind, ns, name)
        body = await request.json()
        objects = []
        for obj in body.get("objects", []):
            oid, size = str(obj.get("oid", "")), int(obj.get("size", 0))
            entry = {"oid": oid, "size": size, "authenticated": True}
            if not store.has_object(oid):
                try:
                    if size < 0:
                        raise HubError(400, "BadRequest", "a negative size")
                    store.check_upload(size)
                except HubError as exc:  # the LFS batch API's per-object error
                    entry["error"] = {"code": exc.status, "message": exc.message}
                    objects.append(entry)
                    continue
                href = f"{base(request)}/lfs-upload/{oid}?size={size}&sig={sign(oid, size)}"
                entry["actions"] = {"upload": {"href": href, "header": {}, "expires_in": 3600}}
            objects.append(entry)
        return JSONResponse(
            {"transfer": "basic", "objects": objects, "hash_algo": "sha256"},
            media_type="application/vnd.git-lfs+json",
        )

    @app.post("/{ns}/{name}.git/info/lfs/objects/batch")
    async def model_lfs_batch(request: Request, ns: str, name: str) -> JSONResponse:
        return await lfs_batch(request, "models", ns, name)

    app.post("/{kind}/{ns}/{name}.git/info/lfs/objects/batch")(lfs_batch)

    @app.put("/lfs-upload/{oid}")
    async def lfs_upload(request: Request, oid: str, size: int, sig: str) -> Response:
        if not hmac.compare_digest(sig, sign(oid, size)):
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

    @app.post("/api/{kind}/{ns}/{name}/commit/{revision:path}")
    async def commit(request: Request, kind: str, ns: str, name: str, revision: str) -> dict:
        repo = writable(request, kind, ns, name)
        if request.query_params.get("create_pr"):
            raise HubError(400, "BadRequest", "pull requests are not supported by the course hub")
        header: dict = {}
        operations: list[tuple] = []
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
        who = user(request)
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

    # -- refs ---------------------------------------------------------------------------------
    @app.get("/api/{kind}/{ns}/{name}/refs")
    def refs(request: Request, kind: str, ns: str, name: str) -> dict:
        repo = readable(request, kind, ns, name)
        r = store.refs(repo)

        def listing(kind: str, prefix: str) -> list[dict]:
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

    @app.post("/api/{kind}/{ns}/{name}/tag/{revision:path}")
    async def create_tag(request: Request, kind: str, ns: str, name: str, revision: str) -> dict:
        repo = writable(request, kind, ns, name)
        body = await request.json()
        store.set_ref(repo, "tags", str(body.get("tag", "")), unquote(revision))
        return {}

    @app.delete("/api/{kind}/{ns}/{name}/tag/{tag:path}")
    def delete_tag(request: Request, kind: str, ns: str, name: str, tag: str) -> dict:
        store.delete_ref(writable(request, kind, ns, name), "tags", unquote(tag))
        return {}

    @app.post("/api/{kind}/{ns}/{name}/branch/{branch:path}")
    async def create_branch(request: Request, kind: str, ns: str, name: str, branch: str) -> dict:
        repo = writable(request, kind, ns, name)
        raw = await request.body()
        start = (json.loads(raw) if raw else {}).get("startingPoint") or "main"
        store.set_ref(repo, "branches", unquote(branch), start)
        return {}

    @app.delete("/api/{kind}/{ns}/{name}/branch/{branch:path}")
    def delete_branch(request: Request, kind: str, ns: str, name: str, branch: str) -> dict:
        store.delete_ref(writable(request, kind, ns, name), "branches", unquote(branch))
        return {}

    # -- listing ------------------------------------------------------------------------------
    def entry(path: str, e: dict) -> dict:
        out = {"type": "file", "oid": e["git_oid"], "size": e["size"], "path": path}
        if e["lfs"]:
            out["lfs"] = {"oid": e["sha256"], "size": e["size"], "pointerSize": 134}
        return out

    def tree_entries(files: dict, folder: str, recursive: bool) -> list[dict]:
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
        out += [
            {"type": "directory", "oid": hashlib.sha1(d.encode()).hexdigest(), "size": 0, "path": d}
            for d in sorted(dirs)
        ]
        return sorted(out, key=lambda x: x["path"])

    @app.get("/api/{kind}/{ns}/{name}/tree/{revision}")
    def tree_root(
        request: Request, kind: str, ns: str, name: str, revision: str, recursive: bool = False
    ) -> list:
        return tree(request, kind, ns, name, revision, "", recursive)

    @app.get("/api/{kind}/{ns}/{name}/tree/{revision}/{path:path}")
    def tree(
        request: Request, kind: str, ns: str, name: str, revision: str, path: str, recursive: bool = False
    ) -> list:
        repo = readable(request, kind, ns, name)
        commit = store.get_commit(repo, unquote(revision))
        folder = path.strip("/")
        listed = tree_entries(commit["files"], folder, recursive)
        if folder and not listed:
            request.state.commit = commit["oid"]
            raise not_found("EntryNotFound", f"{folder} does not exist at {revision}")
        return listed

    @app.post("/api/{kind}/{ns}/{name}/paths-info/{revision:path}")
    async def paths_info(request: Request, kind: str, ns: str, name: str, revision: str) -> list:
        repo = readable(request, kind, ns, name)
        commit = store.get_commit(repo, unquote(revision))
        form = await request.form()
        out = []
        for path in form.getlist("paths"):
            path = str(path).strip("/")
            if path in commit["files"]:
                out.append(entry(path, commit["files"][path]))
            elif any(p.startswith(path + "/") for p in commit["files"]):
                out.append(
                    {
                        "type": "directory",
                        "oid": hashlib.sha1(path.encode()).hexdigest(),
                        "size": 0,
                        "path": path,
                    }
                )
        return out

    @app.get("/api/{kind}/{ns}/{name}/commits/{revision:path}")
    def commits(request: Request, kind: str, ns: str, name: str, revision: str) -> list:
        repo = readable(request, kind, ns, name)
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

    # -- downloading --------------------------------------------------------------------------
    def resolve_file(request: Request, kind: str, ns: str, name: str, revision: str, path: str) -> Response:
        repo = readable(request, kind, ns, name)
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

    def resolve_route(kind: str):
        def route(request: Request, ns: str, name: str, revision: str, path: str) -> Response:
            return resolve_file(request, kind, ns, name, revision, path)

        return route

    for prefix, kind in (("/datasets", "datasets"), ("/spaces", "spaces"), ("", "models")):
        app.api_route(
            f"{prefix}/{{ns}}/{{name}}/resolve/{{revision}}/{{path:path}}", methods=["GET", "HEAD"]
        )(resolve_route(kind))

    @app.api_route("/{full_path:path}", methods=["GET", "HEAD", "POST", "PUT", "DELETE"])
    def unknown(full_path: str) -> None:
        raise HubError(404, "NotFound", f"the course hub does not implement /{full_path}")

    return app


def _fill_lfs_size(store: HubStore, op: tuple) -> tuple:
    """Copies of LFS files may come without a size: take it from the stored object."""
    if op[0] == "lfs" and not op[3] and store.has_object(op[2]):
        return (*op[:3], store.object_path(op[2]).stat().st_size)
    return op
