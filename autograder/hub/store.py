"""The class hub's repositories on disk: content-addressed blobs, commits as JSON, refs per repo.

    ROOT/tokens.json                         sha256(token) -> {"user", "admin"}
    ROOT/objects/<sha256>                    every file's bytes, shared by all repos
    ROOT/repos/<type>/<ns>/<name>/refs.json  {"branches": {name: commit}, "tags": {name: commit}}
    ROOT/repos/<type>/<ns>/<name>/commits/<commit>.json

A commit lists every file of its tree (path -> sha256, size, git blob id, lfs flag), so reading a
revision is one JSON file. Nothing here executes or unpickles what was uploaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_TYPES = ("model", "dataset", "space")
MAX_FILE_BYTES = 1024**3  # one file (MiniLM's weights are 90 MB)
MAX_REPO_BYTES = 2 * 1024**3  # all files of one revision of a repository
MAX_STORE_BYTES = 8 * 1024**3  # every object of the hub (identical files are stored once)
MAX_REQUEST_BYTES = 64 * 1024**2  # one API request's body (LFS uploads stream to disk instead)
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
COMMIT_ID = re.compile(r"^[0-9a-f]{40}$")
GITATTRIBUTES = "".join(
    f"*.{ext} filter=lfs diff=lfs merge=lfs -text\n"
    for ext in (
        "safetensors",
        "bin",
        "pt",
        "pth",
        "ckpt",
        "onnx",
        "gguf",
        "h5",
        "msgpack",
        "parquet",
        "arrow",
        "npy",
        "npz",
        "zip",
        "gz",
        "tar",
        "model",
    )
)


class HubError(Exception):
    """An API error: HTTP status, the X-Error-Code the client maps to an exception, and a message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def not_found(code: str, message: str) -> HubError:
    return HubError(404, code, message)


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    tmp.write_text(json.dumps(value, indent=1, sort_keys=True))
    os.replace(tmp, path)


@dataclass(frozen=True)
class RepoId:
    type: str
    namespace: str
    name: str

    @classmethod
    def parse(cls, repo_type: str, namespace: str, name: str) -> RepoId:
        if repo_type not in REPO_TYPES:
            raise HubError(400, "BadRequest", f"unknown repo type {repo_type!r}")
        for part in (namespace, name):
            if not NAME.match(part) or ".." in part or part.endswith(".git"):
                raise HubError(400, "BadRequest", f"invalid repo name {namespace}/{name}")
        return cls(repo_type, namespace, name)

    @property
    def id(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def url_prefix(self) -> str:
        """How the repo appears in resolve and LFS URLs: 'alice/m' or 'datasets/alice/d'."""
        return self.id if self.type == "model" else f"{self.type}s/{self.id}"


class HubStore:
    """All repositories of one hub. Writes are serialised by one lock: a class hub is small.

    Uploads are bounded (a hub inside a grading takes the student's pushes onto the grader's disk):
    one file, one revision of a repo, and all stored objects together each have a byte limit."""

    def __init__(
        self,
        root: Path,
        max_file_bytes: int = MAX_FILE_BYTES,
        max_repo_bytes: int = MAX_REPO_BYTES,
        max_store_bytes: int = MAX_STORE_BYTES,
    ) -> None:
        self.root = Path(root)
        (self.root / "objects").mkdir(parents=True, exist_ok=True)
        (self.root / "repos").mkdir(exist_ok=True)
        (self.root / "uploads").mkdir(exist_ok=True)
        self.lock = threading.RLock()
        self.max_file_bytes, self.max_repo_bytes, self.max_store_bytes = (
            max_file_bytes,
            max_repo_bytes,
            max_store_bytes,
        )
        self.used = sum(p.stat().st_size for p in (self.root / "objects").iterdir())

    def check_upload(self, size: int) -> None:
        """Refuse an object before it is received: too large for one file, or for the hub."""
        if size > self.max_file_bytes:
            raise HubError(
                413, "PayloadTooLarge", f"a file of {size:,} bytes: the limit is {self.max_file_bytes:,}"
            )
        if self.used + size > self.max_store_bytes:
            raise HubError(413, "PayloadTooLarge", f"the hub is full ({self.max_store_bytes:,} bytes)")

    # -- tokens -------------------------------------------------------------------------------
    def add_token(self, user: str, admin: bool = False) -> str:
        """Create a token for `user` (who may write only to the `user` namespace) and return it."""
        RepoId.parse("model", user, "x")
        token = "hf_" + secrets.token_urlsafe(24)
        with self.lock:
            tokens = self._tokens()
            tokens[hashlib.sha256(token.encode()).hexdigest()] = {"user": user, "admin": admin}
            _write_json(self.root / "tokens.json", tokens)
        (self.root / "tokens.json").chmod(0o600)
        return token

    def user_for(self, token: str | None) -> dict[str, Any] | None:
        if not token:
            return None
        found: dict[str, Any] | None = self._tokens().get(hashlib.sha256(token.encode()).hexdigest())
        return found

    def _tokens(self) -> dict[str, Any]:
        path = self.root / "tokens.json"
        return json.loads(path.read_text()) if path.exists() else {}

    # -- repositories ---------------------------------------------------------------------------
    def repo_dir(self, repo: RepoId) -> Path:
        return self.root / "repos" / repo.type / repo.namespace / repo.name

    def exists(self, repo: RepoId) -> bool:
        return (self.repo_dir(repo) / "refs.json").exists()

    def require(self, repo: RepoId) -> None:
        if not self.exists(repo):
            raise not_found("RepoNotFound", f"Repository {repo.id} ({repo.type}) not found")

    def meta(self, repo: RepoId) -> dict[str, Any]:
        self.require(repo)
        meta: dict[str, Any] = json.loads((self.repo_dir(repo) / "repo.json").read_text())
        return meta

    def create(self, repo: RepoId, owner: str, private: bool = False) -> bool:
        """Create `repo` with an initial commit holding .gitattributes. False if it already exists."""
        with self.lock:
            if self.exists(repo):
                return False
            folder = self.repo_dir(repo)
            (folder / "commits").mkdir(parents=True, exist_ok=True)
            _write_json(folder / "repo.json", {"private": private, "owner": owner, "created": _now()})
            _write_json(folder / "refs.json", {"branches": {}, "tags": {}})
            self.commit(
                repo,
                "main",
                [("add", ".gitattributes", GITATTRIBUTES.encode())],
                "initial commit",
                author=owner,
                allow_new_branch=True,
            )
            return True

    def delete(self, repo: RepoId) -> None:
        with self.lock:
            self.require(repo)
            shutil.rmtree(self.repo_dir(repo))

    # -- refs and revisions ---------------------------------------------------------------------
    def refs(self, repo: RepoId) -> dict[str, dict[str, str]]:
        self.require(repo)
        refs: dict[str, dict[str, str]] = json.loads((self.repo_dir(repo) / "refs.json").read_text())
        return refs

    def resolve(self, repo: RepoId, revision: str) -> str:
        """A branch, a tag or a full commit id -> the commit id."""
        refs = self.refs(repo)
        for kind in ("branches", "tags"):
            if revision in refs[kind]:
                return refs[kind][revision]
        if COMMIT_ID.match(revision) and (self.repo_dir(repo) / "commits" / f"{revision}.json").exists():
            return revision
        raise not_found("RevisionNotFound", f"Invalid rev id: {revision}")

    def get_commit(self, repo: RepoId, revision: str) -> dict[str, Any]:
        oid = self.resolve(repo, revision)
        commit: dict[str, Any] = json.loads((self.repo_dir(repo) / "commits" / f"{oid}.json").read_text())
        return commit

    def set_ref(self, repo: RepoId, kind: str, name: str, revision: str, exist_ok: bool = False) -> str:
        with self.lock:
            oid = self.resolve(repo, revision)
            refs = self.refs(repo)
            if name in refs[kind] and not exist_ok:
                raise HubError(
                    409, "Conflict", f"{'Tag' if kind == 'tags' else 'Branch'} {name} already exists"
                )
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,127}", name) or ".." in name:
                raise HubError(400, "BadRequest", f"invalid ref name {name!r}")
            refs[kind][name] = oid
            _write_json(self.repo_dir(repo) / "refs.json", refs)
            return oid

    def delete_ref(self, repo: RepoId, kind: str, name: str) -> None:
        with self.lock:
            refs = self.refs(repo)
            if name not in refs[kind] or (kind == "branches" and name == "main"):
                raise not_found("RevisionNotFound", f"no {kind[:-1]} named {name}")
            del refs[kind][name]
            _write_json(self.repo_dir(repo) / "refs.json", refs)

    def history(self, repo: RepoId, revision: str) -> list[dict[str, Any]]:
        commits: list[dict[str, Any]] = []
        oid: str | None = self.resolve(repo, revision)
        while oid:
            commit = json.loads((self.repo_dir(repo) / "commits" / f"{oid}.json").read_text())
            commits.append(commit)
            oid = commit["parents"][0] if commit["parents"] else None
        return commits

    # -- objects ------------------------------------------------------------------------------
    def object_path(self, sha256: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise HubError(400, "BadRequest", "bad object id")
        return self.root / "objects" / sha256

    def has_object(self, sha256: str) -> bool:
        return self.object_path(sha256).exists()

    def put_object(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        path = self.object_path(sha)
        with self.lock:
            if not path.exists():
                self.check_upload(len(data))
                tmp = self.root / "uploads" / f"{sha}.{secrets.token_hex(4)}"
                tmp.write_bytes(data)
                os.replace(tmp, path)
                self.used += len(data)
        return sha

    def adopt_upload(self, tmp: Path, sha256: str, size: int) -> None:
        """Move a streamed LFS upload into place after checking its size and hash."""
        digest = hashlib.sha256()
        with open(tmp, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        if tmp.stat().st_size != size or digest.hexdigest() != sha256:
            tmp.unlink(missing_ok=True)
            raise HubError(400, "BadRequest", "uploaded content does not match its oid and size")
        with self.lock:
            if self.has_object(sha256):
                tmp.unlink(missing_ok=True)
                return
            try:
                self.check_upload(size)
            except HubError:
                tmp.unlink(missing_ok=True)
                raise
            os.replace(tmp, self.object_path(sha256))
            self.used += size

    def read(self, entry: dict[str, Any]) -> bytes:
        return self.object_path(entry["sha256"]).read_bytes()

    # -- commits ------------------------------------------------------------------------------
    def commit(
        self,
        repo: RepoId,
        branch: str,
        operations: list[tuple[Any, ...]],
        title: str,
        description: str = "",
        author: str = "",
        parent: str | None = None,
        allow_new_branch: bool = False,
    ) -> str:
        """Apply operations to `branch` and move it to the new commit; return the commit id.

        Operations: ("add", path, bytes), ("lfs", path, sha256, size), ("delete", path),
        ("delete_folder", path).
        """
        with self.lock:
            refs = self.refs(repo)
            head = refs["branches"].get(branch)
            if head is None and not allow_new_branch:
                if branch in refs["tags"] or COMMIT_ID.match(branch):
                    raise HubError(400, "BadRequest", f"{branch} is not a branch: commits go to branches")
                raise not_found("RevisionNotFound", f"Invalid rev id: {branch}")
            if parent is not None and parent != head:
                raise HubError(
                    412, "PreconditionFailed", f"parent commit {parent} is not the head of {branch}"
                )
            files = dict(self.get_commit(repo, head)["files"]) if head else {}
            pending = []  # stored only once the new revision is known to fit
            for op in operations:
                kind, path = op[0], _clean_path(op[1])
                if kind == "add":
                    data = op[2]
                    pending.append(data)
                    files[path] = {
                        "sha256": hashlib.sha256(data).hexdigest(),
                        "size": len(data),
                        "git_oid": git_blob_id(data),
                        "lfs": False,
                    }
                elif kind == "lfs":
                    sha, size = op[2], op[3]
                    if not self.has_object(sha):
                        raise HubError(422, "BadRequest", f"{path}: LFS object {sha} was never uploaded")
                    size = self.object_path(sha).stat().st_size  # what counts is what is stored
                    files[path] = {
                        "sha256": sha,
                        "size": size,
                        "git_oid": _lfs_pointer_id(sha, size),
                        "lfs": True,
                    }
                elif kind == "delete":
                    if files.pop(path, None) is None:
                        raise not_found("EntryNotFound", f"{path} does not exist")
                elif kind == "delete_folder":
                    prefix = path.rstrip("/") + "/"
                    files = {p: e for p, e in files.items() if not p.startswith(prefix)}
            if (total := sum(e["size"] for e in files.values())) > self.max_repo_bytes:
                raise HubError(
                    413,
                    "PayloadTooLarge",
                    f"{repo.id} would hold {total:,} bytes: the limit is {self.max_repo_bytes:,}",
                )
            for data in pending:
                self.put_object(data)
            body = {
                "parents": [head] if head else [],
                "title": title,
                "message": description,
                "author": author,
                "date": _now(),
                "files": dict(sorted(files.items())),
            }
            oid = hashlib.sha1(
                json.dumps(body, sort_keys=True).encode() + str(time.time_ns()).encode()
            ).hexdigest()
            _write_json(self.repo_dir(repo) / "commits" / f"{oid}.json", {"oid": oid, **body})
            refs["branches"][branch] = oid
            _write_json(self.repo_dir(repo) / "refs.json", refs)
            return oid

    # -- reading a revision -----------------------------------------------------------------------
    def snapshot(self, repo: RepoId, revision: str, dest: Path) -> str:
        """Write every file of `revision` under `dest`; return the commit id."""
        commit = self.get_commit(repo, revision)
        for path, entry in commit["files"].items():
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.object_path(entry["sha256"]), target)
        return str(commit["oid"])


def _clean_path(path: str) -> str:
    parts = [p for p in str(path).replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts or parts[0] == ".git":
        raise HubError(400, "BadRequest", f"invalid path in repo: {path!r}")
    return "/".join(parts)


def _lfs_pointer_id(sha256: str, size: int) -> str:
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()
    return git_blob_id(pointer)
