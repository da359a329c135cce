"""What every route of the class hub depends on: the store and the signing secret (on `app.state`,
set by `create_app`), who is asking, and the repository a path names, checked for reading or writing.

Route handlers take these as `Annotated[..., Depends(...)]` parameters, so a router needs nothing
but an app whose state holds a store and a secret to be served, and tested, alone.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Any

from fastapi import Depends, Request

from autograder.hub.store import HubError, HubStore, RepoId, not_found

KINDS = {"models": "model", "datasets": "dataset", "spaces": "space"}


def get_store(request: Request) -> HubStore:
    store: HubStore = request.app.state.store
    return store


def get_secret(request: Request) -> bytes:
    secret: bytes = request.app.state.secret
    return secret


Store = Annotated[HubStore, Depends(get_store)]
Secret = Annotated[bytes, Depends(get_secret)]


def sign(secret: bytes, oid: str, size: int) -> str:
    """The signature of an LFS upload URL: only the hub hands out URLs it will accept."""
    return hmac.new(secret, f"{oid}:{size}".encode(), hashlib.sha256).hexdigest()


def base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def get_user(request: Request, store: Store) -> dict[str, Any] | None:
    """The token's user, None without a token; a token the hub does not know is refused."""
    auth = request.headers.get("authorization", "")
    token = auth[7:] if auth.lower().startswith("bearer ") else None
    found = store.user_for(token)
    if token and found is None:
        raise HubError(401, "Unauthorized", "Invalid credentials in Authorization header")
    return found


User = Annotated[dict[str, Any] | None, Depends(get_user)]


def can_write(who: dict[str, Any] | None, repo: RepoId) -> None:
    if who is None:
        raise HubError(401, "Unauthorized", "a token is required to write; set HF_TOKEN")
    if not (who["admin"] or who["user"] == repo.namespace):
        raise HubError(403, "Forbidden", f"{who['user']} cannot write to the {repo.namespace} namespace")


def readable_repo(store: HubStore, who: dict[str, Any] | None, kind: str, ns: str, name: str) -> RepoId:
    """The repository, if it is public or `who` may see it; a private one is 'not found' to others."""
    repo = RepoId.parse(KINDS.get(kind, kind), ns, name)
    if store.meta(repo)["private"] and (who is None or not (who["admin"] or who["user"] == repo.namespace)):
        raise not_found("RepoNotFound", f"Repository {repo.id} not found")
    return repo


def writable_repo(store: HubStore, who: dict[str, Any] | None, kind: str, ns: str, name: str) -> RepoId:
    """The repository, if `who` may write to its namespace and it exists."""
    repo = RepoId.parse(KINDS.get(kind, kind), ns, name)
    can_write(who, repo)
    store.require(repo)
    return repo


def readable(request: Request, store: Store, kind: str, ns: str, name: str) -> RepoId:
    # The user is looked up only for a private repository: a public one is read with any token.
    repo = RepoId.parse(KINDS.get(kind, kind), ns, name)
    who = get_user(request, store) if store.meta(repo)["private"] else None
    return readable_repo(store, who, kind, ns, name)


def writable(store: Store, who: User, kind: str, ns: str, name: str) -> RepoId:
    return writable_repo(store, who, kind, ns, name)


Readable = Annotated[RepoId, Depends(readable)]
Writable = Annotated[RepoId, Depends(writable)]
