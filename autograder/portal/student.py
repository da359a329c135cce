"""A student's pages: modules with due dates and extensions, upload, queue place, feedback, history, quiz."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from autograder.feedback import render_student_html, student_feedback
from autograder.gradebook.late import effective_due
from autograder.portal import store
from autograder.portal.deps import (
    DB,
    Settings,
    accept_upload,
    checked_csrf,
    page_user,
    render,
    session_user,
    settings,
    visible_job,
)
from autograder.quiz.variant import Quiz, load_quiz

router = APIRouter()
Student = Annotated[store.User, Depends(page_user)]
Posted = Annotated[store.User, Depends(checked_csrf)]


def _due(conf: Settings, db: sqlite3.Connection, student: str, module: str) -> datetime | None:
    return effective_due(conf.layout.course.module(module).due, store.extension(db, student, module))


def _score(db: sqlite3.Connection, job: store.Job) -> dict[str, Any] | None:
    if job.gradebook_id is None:
        return None
    r = db.execute("SELECT * FROM submissions WHERE id=?", (job.gradebook_id,)).fetchone()
    return dict(r) if r else None


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: DB, user: Annotated[store.User | None, Depends(session_user)]) -> Response:
    if user is None:
        return render(request, "signin.html", user=None)
    conf = settings(request)
    course = conf.layout.course
    rows = []
    for module in course.modules:
        mine = store.jobs(db, student=user.student_id, module=module.id)
        rows.append(
            {
                "module": module,
                "policy": course.late_for(module.id),
                "extension": store.extension(db, user.student_id, module.id),
                "due": _due(conf, db, user.student_id, module.id),
                "latest": mine[-1] if mine else None,
                "score": _score(db, mine[-1]) if mine else None,
                "quiz": conf.layout.quiz_file(module.id).is_file(),
            }
        )
    return render(request, "home.html", user=user, course=course, rows=rows)


@router.post("/upload")
def upload(
    request: Request, db: DB, user: Posted, module: Annotated[str, Form()], file: UploadFile
) -> Response:
    try:
        job_id = accept_upload(settings(request), db, user, module, file)
    except HTTPException as exc:
        return render(
            request, "message.html", exc.status_code, title="Upload refused", message=exc.detail, user=user
        )
    return RedirectResponse(f"/submissions/{job_id}", status_code=303)


@router.get("/submissions/{job_id}", response_class=HTMLResponse)
def submission(job_id: int, request: Request, db: DB, user: Student) -> Response:
    job = visible_job(db, user, job_id)
    return render(
        request,
        "submission.html",
        user=user,
        job=job,
        position=store.queue_position(db, job),
        score=_score(db, job),
    )


@router.get("/submissions/{job_id}/feedback", response_class=HTMLResponse)
def feedback(job_id: int, request: Request, db: DB, user: Student) -> Response:
    """The per-test feedback page: feedback.html's content, from the recorded results."""
    job = visible_job(db, user, job_id)
    if job.gradebook_id is None:
        raise HTTPException(404, "This submission has not been graded yet.")
    conf = settings(request)
    fb = student_feedback(
        store.results_of(db, job.gradebook_id),
        student=job.student,
        module=job.module,
        title=conf.layout.course.module(job.module).title,
        due=_due(conf, db, job.student, job.module),
    )
    return HTMLResponse(render_student_html(fb))


@router.get("/history", response_class=HTMLResponse)
def history(request: Request, db: DB, user: Student) -> Response:
    mine = store.jobs(db, student=user.student_id)
    return render(request, "history.html", user=user, jobs=[(j, _score(db, j)) for j in reversed(mine)])


def _quiz(conf: Settings, module: str) -> Quiz:
    try:
        conf.layout.course.module(module)
    except Exception:  # noqa: BLE001 - an unknown module is a missing page
        raise HTTPException(404, "No such quiz.") from None
    if not conf.layout.quiz_file(module).is_file():
        raise HTTPException(404, "This module has no quiz.")
    return load_quiz(conf.layout, module)


@router.get("/quiz/{module}", response_class=HTMLResponse)
def quiz(module: str, request: Request, user: Student) -> Response:
    from autograder.quiz.grading import how_to_answer
    from autograder.quiz.render import item_markdown, markdown_to_html

    variant = _quiz(settings(request), module).variant(user.student_id)
    items = [(i, Markup(markdown_to_html(item_markdown(i))), how_to_answer(i)) for i in variant.items]
    return render(request, "quiz.html", user=user, variant=variant, items=items, module=module)


@router.post("/quiz/{module}", response_class=HTMLResponse)
async def quiz_answers(module: str, request: Request, user: Posted) -> Response:
    """Grade the student's own variant with the quiz engine and record it in the gradebook."""
    from autograder.quiz.gradebook import record
    from autograder.quiz.grading import grade_variant

    conf = settings(request)
    the_quiz = _quiz(conf, module)
    variant = the_quiz.variant(user.student_id)
    form = await request.form()
    answers = {i.qid: str(form.get(f"answer-{i.qid}", "")) for i in variant.items}
    grade = grade_variant(variant, answers)
    record(the_quiz, [grade], conf.db_path)
    return render(request, "quiz_result.html", user=user, grade=grade, variant=variant)
