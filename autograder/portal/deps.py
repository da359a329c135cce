"""What every router shares: settings, the database per request, who is asking, CSRF, templates, intake."""

from __future__ import annotations

import hmac
import re
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import Depends, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse

from autograder.grade.intake import take_in
from autograder.layout import Layout
from autograder.portal import store
from autograder.portal.grader import uploads_dir
from autograder.yamlconf import ConfigError

SESSION_COOKIE = "portal_session"
MAX_UPLOAD_BYTES = 20 * 1024**2


@dataclass
class Settings:
    layout: Layout
    db_path: Path
    secure_cookies: bool = True
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    uploads_per_window: int = 10  # per student; regrades do not count
    rate_window: timedelta = timedelta(minutes=1)


templates = jinja2.Environment(
    loader=jinja2.PackageLoader("autograder.portal", "templates"),
    autoescape=True,  # everything a submission produced is text, escaped
    undefined=jinja2.StrictUndefined,
)


def settings(request: Request) -> Settings:
    conf: Settings = request.app.state.settings
    return conf


def database(request: Request) -> Iterator[sqlite3.Connection]:
    db = store.connect(settings(request).db_path)
    try:
        yield db
    finally:
        db.close()


DB = Annotated[sqlite3.Connection, Depends(database)]


def csrf_token(session: str) -> str:
    """Bound to the session: a page on another site can neither read the cookie nor forge this."""
    return hmac.new(session.encode(), b"portal-csrf", "sha256").hexdigest()


def session_user(request: Request, db: DB) -> store.User | None:
    secret = request.cookies.get(SESSION_COOKIE)
    return store.user_for(db, secret, "session") if secret else None


def page_user(user: Annotated[store.User | None, Depends(session_user)]) -> store.User:
    if user is None:
        raise HTTPException(401, "Sign in with the link your TA sent you.")
    return user


def staff_user(user: Annotated[store.User, Depends(page_user)]) -> store.User:
    if not user.staff:
        raise HTTPException(403, "This page is for TAs and instructors.")
    return user


def api_user(request: Request, db: DB) -> store.User:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    user = store.user_for(db, token.strip(), "token") if scheme.lower() == "bearer" and token else None
    if user is None:
        raise HTTPException(
            401, "Send Authorization: Bearer TOKEN (course portal token STUDENT_ID prints one)."
        )
    return user


def checked_csrf(
    request: Request, user: Annotated[store.User, Depends(page_user)], csrf: Annotated[str, Form()] = ""
) -> store.User:
    """Every form posts the session's CSRF token."""
    expected = csrf_token(request.cookies.get(SESSION_COOKIE, ""))
    if not hmac.compare_digest(csrf, expected):
        raise HTTPException(
            403, "This form is stale or was not sent from the portal: reload the page and retry."
        )
    return user


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    session = request.cookies.get(SESSION_COOKIE, "")
    html = templates.get_template(name).render(csrf=csrf_token(session) if session else "", **context)
    return HTMLResponse(html, status_code=status_code)


def visible_job(db: sqlite3.Connection, user: store.User, job_id: int) -> store.Job:
    """The job, if the caller may see it: their own, or anyone's for staff. Otherwise 404, as if it did
    not exist (a student learns nothing about other students' ids)."""
    job = store.job(db, job_id)
    if job is None or (job.student != user.student_id and not user.staff):
        raise HTTPException(404, "No such submission.")
    return job


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", Path(name.replace("\\", "/")).name).lstrip(".") or "upload"


def accept_upload(
    conf: Settings, db: sqlite3.Connection, user: store.User, module: str, upload: UploadFile
) -> int:
    """The same intake checks as `course grade`, before anything is queued; the job's id."""
    try:
        mod = conf.layout.course.module(module)
    except ConfigError:
        raise HTTPException(422, f"There is no module {module!r} in this course.") from None
    if store.recent_uploads(db, user.student_id, conf.rate_window) >= conf.uploads_per_window:
        raise HTTPException(
            429,
            f"At most {conf.uploads_per_window} uploads per {conf.rate_window.seconds // 60} minute(s): "
            "wait a little.",
        )
    folder = uploads_dir(conf.db_path) / uuid.uuid4().hex
    folder.mkdir(parents=True)
    dest = folder / _safe_name(upload.filename or "upload")
    size = 0
    with open(dest, "wb") as out:
        while chunk := upload.file.read(1 << 20):
            size += len(chunk)
            if size > conf.max_upload_bytes:
                out.close()
                shutil.rmtree(folder)
                raise HTTPException(413, f"The upload is larger than {conf.max_upload_bytes // 1024**2} MiB.")
            out.write(chunk)
    with tempfile.TemporaryDirectory(prefix="portal-intake-") as tmp:
        intake = take_in(dest, Path(tmp), mod.files)
    if intake.problem:
        shutil.rmtree(folder)
        raise HTTPException(422, intake.problem)
    return store.enqueue(db, user.student_id, module, dest, intake.content_hash, store.now())
