"""Late policy, the SQLite gradebook and the LMS export, on synthetic results (no grading)."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta

import pytest

from autograder.config import LatePolicy, load_course
from autograder.gradebook import Gradebook, quiz_module
from autograder.gradebook.export import export_csv, load_roster
from autograder.gradebook.late import (
    Lateness,
    apply_to_results,
    assess,
    effective_due,
    from_gradescope,
    load_extensions,
    load_times,
)

DUE = datetime(2027, 2, 1, 23, 59, tzinfo=UTC)
POLICY = LatePolicy(grace=3600, penalty_per_day=0.1, max_days=3)


@pytest.mark.parametrize(
    ("late_by", "penalty"),
    [
        (timedelta(minutes=-5), 0.0),  # on time
        (timedelta(minutes=59), 0.0),  # inside the grace hour
        (timedelta(hours=1, minutes=1), 0.1),  # a started day counts as a day
        (timedelta(days=1, hours=2), 0.2),
        (timedelta(days=3, hours=1), 0.3),  # exactly 3 days after the grace: still accepted
        (timedelta(days=3, hours=2), 1.0),  # past max_days: nothing
    ],
)
def test_penalty_per_started_day_after_grace(late_by, penalty):
    lateness = assess(POLICY, DUE, DUE + late_by)
    assert lateness.penalty == pytest.approx(penalty)
    assert lateness.final(4.0) == pytest.approx(4.0 * (1 - penalty))


def test_no_due_date_or_time_means_no_penalty():
    assert assess(POLICY, None, DUE + timedelta(days=9)).penalty == 0
    assert assess(POLICY, DUE, None).penalty == 0
    naive = datetime(2027, 2, 1, 23, 59)  # course.yaml without an offset: UTC
    assert assess(POLICY, naive, DUE + timedelta(days=1, hours=2)).penalty == pytest.approx(0.2)


def test_apply_to_results_keeps_raw_scores_and_is_idempotent():
    results = {"tests": [{"score": 2.0}, {"score": 1.0}], "output": "note"}
    apply_to_results(results, assess(POLICY, DUE, DUE + timedelta(days=2)))
    assert results["score"] == pytest.approx(2.4) and results["extra_data"]["late"]["raw_score"] == 3.0
    assert results["output"].startswith("Submitted 1.96 days late") and results["output"].endswith("note")
    apply_to_results(results, assess(POLICY, DUE, DUE))
    assert results["score"] == 3.0 and results["output"] == "note"


def test_gradescope_metadata(tmp_path):
    meta = tmp_path / "m.json"
    meta.write_text(
        json.dumps(
            {
                "created_at": "2027-02-02T10:00:00.123456-05:00",
                "assignment": {"due_date": "2027-02-01T23:59:00-05:00"},
                "users": [],
            }
        )
    )
    submitted, due = from_gradescope(meta)
    assert submitted == datetime(2027, 2, 2, 15, 0, 0, 123456, tzinfo=UTC)
    assert due == datetime(2027, 2, 2, 4, 59, tzinfo=UTC)
    meta.write_text(
        json.dumps(
            {
                "created_at": "2027-02-02T10:00:00Z",
                "assignment": {"due_date": "2027-02-01T23:59:00Z"},
                "users": [
                    {"assignment": {"due_date": "2027-02-03T00:00:00Z"}},
                    {"assignment": {"due_date": "2027-02-05T00:00:00Z"}},
                ],
            }
        )
    )
    assert from_gradescope(meta)[1] == datetime(2027, 2, 5, tzinfo=UTC)  # a group's most generous due date


def test_times_and_extensions_files(tmp_path):
    (tmp_path / "t.csv").write_text("student_id,submitted_at\nada,2027-02-02T01:00:00\n")
    assert load_times(tmp_path / "t.csv") == {"ada": datetime(2027, 2, 2, 1, tzinfo=UTC)}
    (tmp_path / "e.csv").write_text("student_id,extra_days,due\nada,2,\nben,,2027-03-01T00:00:00+00:00\n")
    ext = load_extensions(tmp_path / "e.csv")
    assert effective_due(DUE, ext["ada"]) == DUE + timedelta(days=2)
    assert effective_due(DUE, ext["ben"]) == datetime(2027, 3, 1, tzinfo=UTC)
    (tmp_path / "bad.csv").write_text("student_id,extra_days\ncy,\n")
    with pytest.raises(ValueError, match="neither extra_days nor due"):
        load_extensions(tmp_path / "bad.csv")
    (tmp_path / "bad2.csv").write_text("id,when\n")
    with pytest.raises(ValueError, match="needs the columns"):
        load_times(tmp_path / "bad2.csv")


def fake_results(score: float) -> dict:
    return {
        "tests": [
            {
                "number": "1",
                "name": "t",
                "score": score,
                "max_score": 2.0,
                "status": "passed" if score else "failed",
                "output": "m",
                "visibility": "visible",
                "extra_data": {"id": "test_t"},
            }
        ],
        "output": "",
        "extra_data": {"wall_time": 1.5, "worker_peak_memory_bytes": 123, "grader_errors": 0},
    }


def test_gradebook_records_finds_and_reprices(tmp_path):
    book = Gradebook(tmp_path / "gb.sqlite")
    on_time = Lateness(DUE, DUE)
    first = book.record("m", "ada", "h1", "v1", fake_results(2.0), on_time)
    assert book.find("m", "ada", "h1", "v1") == first
    assert book.find("m", "ada", "h1", "v2") is None, "new graders mean a new grading"
    assert book.find("m", "ada", "h2", "v1") is None, "new content means a new grading"
    assert book.find("m", "ben", "h3", "v1") is None
    book.record("m", "ben", "h3", "v1", fake_results(0.0), on_time, status="error")
    assert book.find("m", "ben", "h3", "v1") is None, "a failed grading is retried"
    repriced = apply_to_results(fake_results(2.0), Lateness(DUE, DUE, 1.5, 0.2))
    book.update_lateness(first, Lateness(DUE, DUE, 1.5, 0.2), repriced)
    row = book.row(first)
    assert (row.raw_score, row.final_score, row.peak_memory_bytes, row.wall_time) == (2.0, 1.6, 123, 1.5)
    assert row.results["score"] == 1.6 and row.output.startswith("Submitted 1.50 days late")
    second = book.record("m", "ada", "h2", "v1", fake_results(0.0), on_time)
    assert not book.is_latest(first) and book.is_latest(second)
    assert [(r.student, r.final_score) for r in book.latest("m")] == [("ada", 0.0), ("ben", 0.0)]
    book.close()


def test_canvas_export(tmp_path):
    yaml = (
        "course: {id: c, title: C}\nmodules:\n"
        "  - {id: m1, title: First, points: 2, files: [a.py]}\n"
        "  - {id: m2, title: Second, points: 5, files: [b.py]}\n"
    )
    (tmp_path / "course.yaml").write_text(yaml)
    course = load_course(tmp_path / "course.yaml")
    book = Gradebook(tmp_path / "gb.sqlite")
    book.record("m1", "ada", "h", "v", fake_results(2.0), Lateness(DUE, DUE, 1.0, 0.1))
    book.record("m1", "zed", "h", "v", fake_results(0.0), Lateness(DUE, DUE))
    (tmp_path / "roster.csv").write_text(
        "student_id,name,canvas_id,sis_id,section\nada,Ada Lovelace,101,S-1,A\ncyd,Cyd Charisse,102,S-3,B\n"
    )
    n = export_csv(book, course, tmp_path / "grades.csv", load_roster(tmp_path / "roster.csv"))
    rows = list(csv.reader((tmp_path / "grades.csv").read_text().splitlines()))
    assert n == 3
    assert rows[0] == ["Student", "ID", "SIS User ID", "Section", "First (m1)", "Second (m2)"]
    assert rows[1] == ["Points Possible", "", "", "", "2", "5"]
    assert rows[2] == ["Ada Lovelace", "101", "S-1", "A", "1.8", ""]
    assert rows[3] == ["Cyd Charisse", "102", "S-3", "B", "", ""]
    assert rows[4] == ["zed", "", "zed", "", "0", ""]
    book.close()


def test_canvas_export_puts_each_recorded_quiz_after_its_module(tmp_path):
    yaml = (
        "course: {id: c, title: C}\nmodules:\n"
        "  - {id: m1, title: First, points: 2, files: [a.py]}\n"
        "  - {id: m2, title: Second, points: 5, files: [b.py]}\n"
    )
    (tmp_path / "course.yaml").write_text(yaml)
    course = load_course(tmp_path / "course.yaml")
    book = Gradebook(tmp_path / "gb.sqlite")
    quiz = {
        "score": 3.0,
        "tests": [{"number": "1", "name": "q1", "status": "failed", "score": 3.0, "max_score": 4.0}],
    }
    book.record(quiz_module("m2"), "ada", "h", "v", quiz, Lateness(None, None))
    book.record("m1", "ben", "h", "v", fake_results(2.0), Lateness(DUE, DUE))
    export_csv(book, course, tmp_path / "grades.csv")
    rows = list(csv.reader((tmp_path / "grades.csv").read_text().splitlines()))
    assert rows[0][4:] == ["First (m1)", "Second (m2)", "Second quiz (m2-quiz)"]
    assert rows[1][4:] == ["2", "5", "4"]
    assert rows[2][4:] == ["", "", "3"] and rows[3][4:] == ["2", "", ""]
    book.close()
