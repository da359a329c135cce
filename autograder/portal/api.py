"""The JSON API (a stable contract; docs/portal.md): Bearer-token requests from `course submit --to`
and scripts."""

from __future__ import annotations

import sqlite3
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, UploadFile

from autograder.portal import store
from autograder.portal.deps import DB, accept_upload, api_user, settings, visible_job

router = APIRouter(prefix="/api")
Caller = Annotated[store.User, Depends(api_user)]


def job_json(db: sqlite3.Connection, job: store.Job, results: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": job.id,
        "student": job.student,
        "module": job.module,
        "status": job.status,
        "submitted_at": job.submitted_at,
        "queue_position": store.queue_position(db, job),
    }
    if results and job.status in ("graded", "failed") and job.gradebook_id is not None:
        out["results"] = store.results_of(db, job.gradebook_id)
    return out


@router.post("/submissions", status_code=201)
def submit(request: Request, db: DB, user: Caller, module: Annotated[str, Form()], file: UploadFile) -> Any:
    job_id = accept_upload(settings(request), db, user, module, file)
    return {"id": job_id, "status": "queued"}


@router.get("/submissions")
def list_submissions(db: DB, user: Caller) -> Any:
    """The caller's own submissions; a TA's or instructor's: everyone's."""
    mine = store.jobs(db) if user.staff else store.jobs(db, student=user.student_id)
    return [job_json(db, j) for j in mine]


@router.get("/submissions/{job_id}")
def get_submission(job_id: int, db: DB, user: Caller) -> Any:
    return job_json(db, visible_job(db, user, job_id), results=True)
