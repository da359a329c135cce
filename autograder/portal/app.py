"""The web app: routers for sign-in, the JSON API, students' pages and staff pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from autograder.layout import Layout
from autograder.portal import api, auth, staff, store, student
from autograder.portal.deps import Settings, render, session_user


def create_app(layout: Layout, db_path: Path, **options: Any) -> FastAPI:
    store.init(db_path)
    app = FastAPI(title="Course portal", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = conf = Settings(layout, db_path, **options)
    for router in (auth.router, api.router, student.router, staff.router):
        app.include_router(router)

    @app.middleware("http")
    async def limits(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """Refuse a too-large body before it is read; no page is cached or framed."""
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > conf.max_upload_bytes + 64 * 1024:
            return JSONResponse(
                {"detail": f"The upload is larger than {conf.max_upload_bytes // 1024**2} MiB."},
                status_code=413,
            )
        response = await call_next(request)
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(HTTPException)
    async def errors(request: Request, exc: HTTPException) -> Response:
        """JSON for the API, an escaped page for a browser."""
        if request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", ""):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        db = store.connect(conf.db_path)
        try:
            user = session_user(request, db)
        finally:
            db.close()
        return render(
            request, "message.html", exc.status_code, title="Not available", message=exc.detail, user=user
        )

    return app
