"""Signing in: a one-time link (printed by `course portal roster import`) becomes a session cookie."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from autograder.portal import store
from autograder.portal.deps import DB, SESSION_COOKIE, checked_csrf, render, settings

router = APIRouter()


@router.get("/signin/{link}", response_class=HTMLResponse)
def sign_in(link: str, request: Request, db: DB) -> Response:
    user = store.use_link(db, link)
    if user is None:
        return render(
            request,
            "message.html",
            404,
            title="Sign-in link not valid",
            message="This sign-in link is unknown or was used already: ask your TA for a new one.",
            user=None,
        )
    session = store.new_secret(db, user.student_id, "session", timedelta(days=store.SESSION_DAYS))
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session,
        max_age=store.SESSION_DAYS * 86400,
        httponly=True,
        secure=settings(request).secure_cookies,
        samesite="lax",
    )
    return response


@router.post("/signout")
def sign_out(request: Request, db: DB, user: Annotated[store.User, Depends(checked_csrf)]) -> Response:
    store.drop_secret(db, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
