"""TAs' and instructors' pages: the queue, the gradebook, the report, regrades, extensions, extra quiz
attempts, the LMS export."""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from autograder.config import Module
from autograder.gradebook import Gradebook
from autograder.gradebook.late import parse_time
from autograder.portal import store
from autograder.portal.deps import DB, checked_csrf, render, settings, staff_user
from autograder.yamlconf import ConfigError

router = APIRouter(prefix="/staff")
Staff = Annotated[store.User, Depends(staff_user)]


def posted_staff(user: Annotated[store.User, Depends(checked_csrf)]) -> store.User:
    if not user.staff:
        raise HTTPException(403, "This page is for TAs and instructors.")
    return user


PostedStaff = Annotated[store.User, Depends(posted_staff)]


def _module(request: Request, module: str) -> Module:
    try:
        return settings(request).layout.course.module(module)
    except ConfigError:
        raise HTTPException(404, f"There is no module {module!r} in this course.") from None


@router.get("/queue", response_class=HTMLResponse)
def queue(request: Request, db: DB, user: Staff) -> Response:
    return render(
        request,
        "queue.html",
        user=user,
        running=store.jobs(db, status="running"),
        waiting=store.jobs(db, status="queued"),
        failed=store.jobs(db, status="failed"),
    )


@router.get("/gradebook", response_class=HTMLResponse)
def gradebook(request: Request, user: Staff, module: str = "", student: str = "") -> Response:
    with Gradebook(settings(request).db_path) as book:
        rows = [r for r in book.latest(module or None) if not student or r.student == student]
    modules = [m.id for m in settings(request).layout.course.modules]
    return render(
        request, "gradebook.html", user=user, rows=rows, modules=modules, module=module, student=student
    )


@router.get("/report/{module}", response_class=HTMLResponse)
def report(module: str, request: Request, user: Staff) -> Response:
    """The instructor report (distribution, per-test pass rates, slowest gradings), as batch writes it."""
    from autograder.batch.grader import write_report

    _module(request, module)
    with tempfile.TemporaryDirectory() as tmp, Gradebook(settings(request).db_path) as book:
        return HTMLResponse(
            write_report(settings(request).layout, module, book, Path(tmp) / "r.html").read_text()
        )


@router.post("/regrade")
def regrade(
    request: Request,
    db: DB,
    user: PostedStaff,
    module: Annotated[str, Form()],
    student: Annotated[str, Form()] = "",
) -> Response:
    """Queue each student's newest upload for `module` again (one student, or all): after a grader fix."""
    _module(request, module)
    newest: dict[str, store.Job] = {}
    for job in store.jobs(db, module=module, student=student.strip() or None):
        newest[job.student] = job
    with store.transaction(db):
        for job in newest.values():
            store.enqueue(
                db,
                job.student,
                module,
                Path(job.upload),
                job.content_hash,
                datetime.fromisoformat(job.submitted_at),
                regrade_of=job.id,
            )
    return RedirectResponse(f"/staff/queue?regraded={len(newest)}", status_code=303)


def _in_roster(db: sqlite3.Connection, student: str) -> str:
    """The student id a staff form names, stripped; 404 if nobody in the roster has it."""
    if store.get_user(db, student.strip()) is None:
        raise HTTPException(404, f"No student {student!r} in the roster.")
    return student.strip()


@router.get("/extensions", response_class=HTMLResponse)
def extensions(request: Request, db: DB, user: Staff) -> Response:
    modules = [m.id for m in settings(request).layout.course.modules]
    return render(request, "extensions.html", user=user, extensions=store.extensions(db), modules=modules)


@router.post("/extensions")
def grant(
    request: Request,
    db: DB,
    user: PostedStaff,
    student: Annotated[str, Form()],
    module: Annotated[str, Form()],
    extra_days: Annotated[str, Form()] = "",
    due: Annotated[str, Form()] = "",
) -> Response:
    """A new due date for one student: a date, or days added to the module's own."""
    mod = _module(request, module)
    student = _in_roster(db, student)
    try:
        if due.strip():
            new_due = parse_time(due, "due")
        elif mod.due is not None and extra_days.strip():
            new_due = (mod.due if mod.due.tzinfo else mod.due.replace(tzinfo=UTC)) + timedelta(
                days=float(extra_days)
            )
        else:
            raise ValueError("give a due date, or extra days for a module that has a due date")
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    store.set_extension(db, student, module, new_due)
    return RedirectResponse("/staff/extensions", status_code=303)


@router.get("/quiz-attempts", response_class=HTMLResponse)
def quiz_attempts(request: Request, db: DB, user: Staff) -> Response:
    layout = settings(request).layout
    modules = [m.id for m in layout.course.modules if layout.quiz_file(m.id).is_file()]
    return render(request, "quiz_attempts.html", user=user, grants=store.quiz_grants(db), modules=modules)


@router.post("/quiz-attempts")
def grant_attempt(
    request: Request,
    db: DB,
    user: PostedStaff,
    student: Annotated[str, Form()],
    module: Annotated[str, Form()],
) -> Response:
    """One more portal attempt at a module's quiz for one student, on top of the bank's `attempts`."""
    _module(request, module)
    if not settings(request).layout.quiz_file(module).is_file():
        raise HTTPException(404, f"Module {module!r} has no quiz.")
    student = _in_roster(db, student)
    store.grant_attempt(db, student, module)
    return RedirectResponse("/staff/quiz-attempts", status_code=303)


@router.get("/export.csv")
def export(request: Request, db: DB, user: Staff) -> Response:
    """Final scores as the LMS imports them (`course gradebook export`), names from the roster."""
    from autograder.gradebook.export import export_csv

    roster = {
        u.student_id: {"name": u.name, "section": u.section} for u in store.users(db) if u.role == "student"
    }
    with tempfile.TemporaryDirectory() as tmp, Gradebook(settings(request).db_path) as book:
        out = Path(tmp) / "grades.csv"
        export_csv(book, settings(request).layout.course, out, roster)
        text = out.read_text(encoding="utf-8")
    return Response(
        text, media_type="text/csv", headers={"Content-Disposition": 'attachment; filename="grades.csv"'}
    )
