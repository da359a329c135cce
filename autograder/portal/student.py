"""A student's pages: modules with due dates and extensions, upload, queue place, feedback, history, quiz."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from autograder.feedback import render_student_html, student_feedback
from autograder.gradebook import Gradebook, quiz_module
from autograder.gradebook.late import Lateness, effective_due
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


def _attempts(db: sqlite3.Connection, user: store.User, quiz: Quiz) -> tuple[list[store.Attempt], int]:
    """The student's own attempts at the quiz, and how many they may make (the bank's, plus grants)."""
    allowed = quiz.bank.quiz.attempts + store.extra_attempts(db, user.student_id, quiz.module)
    return store.quiz_attempts(db, user.student_id, quiz.module), allowed


def _kept(quiz: Quiz, attempts: list[store.Attempt]) -> store.Attempt:
    """The attempt whose score the gradebook keeps: the last, or the best (the earliest of equals)."""
    if quiz.bank.quiz.keep == "last":
        return attempts[-1]
    return max(attempts, key=lambda a: a.score)


def _digest(data: object) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _record(conf: Settings, quiz: Quiz, attempt: store.Attempt) -> int:
    """The kept attempt as the quiz's newest gradebook row, the one the gradebook reports and exports.
    Recorded even if the same answers were recorded before (`course quiz grade` would skip them): with
    `keep: last`, an attempt that repeats an earlier one must still become the newest row."""
    results = attempt.results
    answers = [(t["name"], t["extra_data"]["response"]) for t in results["tests"]]
    version = _digest([quiz.course_id, quiz.bank.model_dump(mode="json"), quiz.outputs])
    with Gradebook(conf.db_path) as book:
        return book.record(
            quiz_module(quiz.module),
            attempt.student,
            _digest(answers),
            version,
            results,
            Lateness(None, None),
        )


def _result(
    request: Request, user: store.User, quiz: Quiz, attempts: list[store.Attempt], allowed: int
) -> Response:
    """The newest attempt's score and which questions were right; the feedback once no attempt is left."""
    return render(
        request,
        "quiz_result.html",
        user=user,
        title=quiz.bank.quiz.title,
        module=quiz.module,
        attempt=attempts[-1],
        number=len(attempts),
        allowed=allowed,
        kept=_kept(quiz, attempts),
        keep=quiz.bank.quiz.keep,
        feedback=len(attempts) >= allowed,
    )


def _used_up(request: Request, user: store.User, allowed: int) -> Response:
    return render(
        request,
        "message.html",
        409,
        title="No attempt left",
        message=f"You have used all {allowed} attempt(s) at this quiz: nothing was recorded. "
        "Ask your TA if you need another.",
        user=user,
    )


@router.get("/quiz/{module}", response_class=HTMLResponse)
def quiz(module: str, request: Request, db: DB, user: Student) -> Response:
    """The quiz form while the student has an attempt left; after the last, their result and feedback."""
    from autograder.quiz.grading import how_to_answer
    from autograder.quiz.render import item_markdown, markdown_to_html

    the_quiz = _quiz(settings(request), module)
    attempts, allowed = _attempts(db, user, the_quiz)
    if attempts and len(attempts) >= allowed:
        return _result(request, user, the_quiz, attempts, allowed)
    variant = the_quiz.variant(user.student_id)
    items = [(i, Markup(markdown_to_html(item_markdown(i))), how_to_answer(i)) for i in variant.items]
    return render(
        request,
        "quiz.html",
        user=user,
        variant=variant,
        items=items,
        module=module,
        attempts=attempts,
        number=len(attempts) + 1,
        allowed=allowed,
        keep=the_quiz.bank.quiz.keep,
    )


@router.post("/quiz/{module}", response_class=HTMLResponse)
async def quiz_answers(module: str, request: Request, db: DB, user: Posted) -> Response:
    """Grade the student's own variant with the quiz engine, if they have an attempt left, and put the
    score the bank's `keep` says in the gradebook."""
    from autograder.quiz.gradebook import to_results
    from autograder.quiz.grading import grade_variant

    conf = settings(request)
    the_quiz = _quiz(conf, module)
    attempts, allowed = _attempts(db, user, the_quiz)
    if len(attempts) >= allowed:
        return _used_up(request, user, allowed)
    variant = the_quiz.variant(user.student_id)
    form = await request.form()
    answers = {i.qid: str(form.get(f"answer-{i.qid}", "")) for i in variant.items}
    grade = grade_variant(variant, answers)
    attempt_id = store.add_quiz_attempt(
        db, user.student_id, module, the_quiz.bank.quiz.attempts, to_results(grade), grade.max_score
    )
    if attempt_id is None:  # another attempt took the last one meanwhile
        return _used_up(request, user, allowed)
    attempts, allowed = _attempts(db, user, the_quiz)
    if (kept := _kept(the_quiz, attempts)).id == attempt_id:
        store.kept_in_gradebook(db, attempt_id, _record(conf, the_quiz, kept))
    return _result(request, user, the_quiz, [a for a in attempts if a.id <= attempt_id], allowed)
