"""The class hub's HTTP API: the part of the Hugging Face Hub API that `huggingface_hub` uses to
create repos, push (preupload, LFS batch + upload, commit), tag and branch, list, and download.

Errors carry the `X-Error-Code` header (RepoNotFound, RevisionNotFound, EntryNotFound) that the
client turns into its own exceptions. Writes need a token whose user owns the namespace. The routes
live in `autograder.hub.routes`, one router per concern; what they share is in `autograder.hub.deps`.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from autograder.hub.routes import accounts, download, listing, push, refs
from autograder.hub.store import MAX_REQUEST_BYTES, HubError, HubStore

ROUTERS = (accounts.router, push.router, refs.router, listing.router, download.router)


class BodyLimit:
    """Every request body but an LFS upload's (streamed to disk) is read into memory: at most `limit`
    bytes of it, counted as it arrives (a Content-Length can lie, a chunked body has none)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_REQUEST_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/lfs-upload/"):
            return await self.app(scope, receive, send)
        seen = 0

        async def bounded() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise HubError(413, "PayloadTooLarge", f"a request body is at most {self.limit:,} bytes")
            return message

        await self.app(scope, bounded, send)


async def hub_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HubError)  # registered for HubError only
    headers = {"X-Error-Code": exc.code, "X-Error-Message": exc.message}
    if commit := getattr(request.state, "commit", None):
        headers["X-Repo-Commit"] = commit
    return JSONResponse({"error": exc.message}, status_code=exc.status, headers=headers)


def unknown(full_path: str) -> None:
    raise HubError(404, "NotFound", f"the course hub does not implement /{full_path}")


def create_app(
    store: HubStore, max_request_bytes: int = MAX_REQUEST_BYTES, routers: Sequence[APIRouter] = ROUTERS
) -> FastAPI:
    """Serve `store` with `routers` (all of the hub's by default; a test may pass one alone)."""
    app = FastAPI(title="course hub", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = store
    app.state.secret = secrets.token_bytes(32)  # signs LFS upload URLs; a restart voids old ones
    app.add_middleware(BodyLimit, limit=max_request_bytes)
    app.add_exception_handler(HubError, hub_error)
    for router in routers:
        app.include_router(router)
    app.api_route("/{full_path:path}", methods=["GET", "HEAD", "POST", "PUT", "DELETE"])(unknown)
    return app
