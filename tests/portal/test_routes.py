"""Route-level tests: the API contract, every role, every cross-student access attempt, the limits."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from autograder.portal import store
from tests.conftest import MINI_GOOD
from tests.portal.conftest import HALF, Portal, make_portal

STAFF_PAGES = [
    "/staff/queue",
    "/staff/gradebook",
    "/staff/report/mini",
    "/staff/extensions",
    "/staff/export.csv",
]


@pytest.fixture(scope="module")
def graded(course_layout, tmp_path_factory) -> tuple[Portal, int, int]:
    """alice's full marks and bob's half-right submission, both graded: (portal, alice's id, bob's id)."""
    p = make_portal(course_layout, tmp_path_factory.mktemp("graded") / "portal.sqlite")
    a, b = p.upload("alice"), p.upload("bob", HALF)
    assert (a.status_code, b.status_code) == (201, 201), (a.text, b.text)
    p.drain()
    return p, a.json()["id"], b.json()["id"]


def test_api_contract(portal: Portal) -> None:
    answer = portal.upload("alice")
    assert answer.status_code == 201
    job_id = answer.json()["id"]
    status = portal.client.get(f"/api/submissions/{job_id}", headers=portal.api("alice")).json()
    assert status["status"] == "queued" and status["queue_position"] == 1 and "results" not in status
    portal.drain()
    status = portal.client.get(f"/api/submissions/{job_id}", headers=portal.api("alice")).json()
    assert status["status"] == "graded"
    results = status["results"]
    assert results["score"] == 4 and {t["name"] for t in results["tests"]} >= {"add() adds two numbers."}
    on_disk = json.loads((portal.db.parent / "results" / str(job_id) / "results.json").read_text())
    assert on_disk == results  # the results.json document itself
    mine = portal.client.get("/api/submissions", headers=portal.api("alice")).json()
    assert [s["id"] for s in mine] == [job_id]


def test_another_students_work_is_404_on_every_route(graded) -> None:
    p, alice_job, bob_job = graded
    bob_api = p.api("bob")
    assert p.client.get(f"/api/submissions/{alice_job}", headers=bob_api).status_code == 404
    assert p.client.get(f"/api/submissions/{bob_job}", headers=bob_api).status_code == 200
    assert [s["id"] for s in p.client.get("/api/submissions", headers=bob_api).json()] == [bob_job]
    bob = p.signed_in("bob")
    for route in (f"/submissions/{alice_job}", f"/submissions/{alice_job}/feedback"):
        refused = bob.get(route)
        missing = bob.get(route.replace(str(alice_job), "999999"))
        assert refused.status_code == missing.status_code == 404  # indistinguishable from no such id
        assert "alice" not in refused.text.lower()
    assert "alice" not in bob.get("/history").text.lower() and "alice" not in bob.get("/").text.lower()
    assert bob.get(f"/submissions/{bob_job}/feedback").status_code == 200


def test_staff_see_everyone(graded) -> None:
    p, alice_job, bob_job = graded
    for sid in ("tina", "ines"):
        listed = p.client.get("/api/submissions", headers=p.api(sid)).json()
        assert {s["id"] for s in listed} == {alice_job, bob_job}
        assert (
            p.client.get(f"/api/submissions/{alice_job}", headers=p.api(sid)).json()["results"]["score"] == 4
        )
        browser = p.signed_in(sid)
        assert "add(2, 3) is wrong" in browser.get(f"/submissions/{bob_job}/feedback").text
        for page in STAFF_PAGES:
            assert browser.get(page).status_code == 200, page
    book = p.signed_in("tina").get("/staff/gradebook?module=mini").text
    assert "alice" in book and "bob" in book
    csv = p.signed_in("ines").get("/staff/export.csv").text.splitlines()
    assert csv[0].startswith("Student,ID,SIS User ID,Section,Mini module (mini)")
    assert "Alice,,alice,A,4" in csv and "Bob,,bob,A,2" in csv


def test_students_and_strangers_are_kept_off_staff_routes(graded) -> None:
    p, alice_job, _ = graded
    alice = p.signed_in("alice")
    for page in STAFF_PAGES:
        assert alice.get(page).status_code == 403, page
        assert p.client.get(page).status_code == 401, page
    csrf = p.csrf(alice)
    assert alice.post("/staff/regrade", data={"csrf": csrf, "module": "mini"}).status_code == 403
    granted = alice.post(
        "/staff/extensions", data={"csrf": csrf, "student": "alice", "module": "mini", "due": "2030-01-01"}
    )
    assert granted.status_code == 403
    assert p.client.get(f"/submissions/{alice_job}").status_code == 401
    assert p.client.get("/api/submissions").status_code == 401
    assert (
        p.client.get("/api/submissions", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    )
    session = alice.cookies["portal_session"]  # a session is not an API token
    assert p.client.get("/api/submissions", headers={"Authorization": f"Bearer {session}"}).status_code == 401


def test_intake_refuses_before_queueing(portal: Portal) -> None:
    broken = portal.upload("alice", "def add(a, b):\n    return a +\n")
    assert broken.status_code == 422
    assert broken.json()["detail"].startswith(
        "Your submission could not be graded: mini.py, line 2: syntax error"
    )
    wrong = portal.upload("alice", "hello", name="notes.txt")
    assert (
        wrong.status_code == 422 and "neither a folder, a .zip, a .py nor an .ipynb" in wrong.json()["detail"]
    )
    assert portal.upload("alice", module="nope").status_code == 422
    assert portal.client.get("/api/submissions", headers=portal.api("alice")).json() == []
    alice = portal.signed_in("alice")
    page = alice.post(
        "/upload",
        data={"csrf": portal.csrf(alice), "module": "mini"},
        files={"file": ("mini.py", io.BytesIO(b"def add(:\n"), "text/x-python")},
    )
    assert page.status_code == 422 and "syntax error" in page.text  # the page shows the same message
    assert portal.client.get("/api/submissions", headers=portal.api("alice")).json() == []


def test_upload_size_and_rate_limits(course_layout, tmp_path) -> None:
    p = make_portal(course_layout, tmp_path / "portal.sqlite", max_upload_bytes=2000, uploads_per_window=2)
    big = p.upload("alice", MINI_GOOD + "#" * 5000)
    assert big.status_code == 413
    assert [p.upload("alice").status_code for _ in range(3)] == [201, 201, 429]
    assert p.upload("bob").status_code == 201  # the limit is per student
    with store.closing(p.db) as db:
        assert len(store.jobs(db, student="alice")) == 2


def test_sign_in_link_is_one_time_and_cookie_is_locked_down(portal: Portal) -> None:
    link = portal.link("alice")
    first = portal.client.get(f"/signin/{link}", follow_redirects=False)
    assert first.status_code == 303
    cookie = first.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie
    assert portal.client.get(f"/signin/{link}", follow_redirects=False).status_code == 404


def test_secrets_are_stored_hashed(portal: Portal) -> None:
    token, link = portal.token("alice"), portal.link("bob")
    session = portal.signed_in("tina").cookies["portal_session"]
    raw = b"".join(p.read_bytes() for p in portal.db.parent.glob("portal.sqlite*"))
    for secret in (token, link, session):
        assert secret.encode() not in raw
        assert store.digest(secret).encode() in raw


def test_forms_need_the_sessions_csrf_token(portal: Portal) -> None:
    alice, bob = portal.signed_in("alice"), portal.signed_in("bob")
    good = {"file": ("mini.py", io.BytesIO(MINI_GOOD.encode()), "text/x-python")}
    assert (
        alice.post("/upload", data={"module": "mini"}, files=good, follow_redirects=False).status_code == 403
    )
    stolen = {"csrf": portal.csrf(bob), "module": "mini"}
    assert alice.post("/upload", data=stolen, files=good, follow_redirects=False).status_code == 403
    mine = {"csrf": portal.csrf(alice), "module": "mini"}
    done = alice.post("/upload", data=mine, files=good, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/submissions/")
    assert "place 1 in the queue" in alice.get(done.headers["location"]).text


def test_submission_text_is_escaped(portal: Portal) -> None:
    evil = MINI_GOOD.replace("return a + b", "raise ValueError('<script>alert(1)</script>')")
    job = portal.upload("alice", evil).json()["id"]
    portal.drain()
    alice = portal.signed_in("alice")
    for page in (f"/submissions/{job}", f"/submissions/{job}/feedback", "/history", "/"):
        assert "<script>alert" not in alice.get(page).text, page
    feedback = alice.get(f"/submissions/{job}/feedback").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in feedback  # shown, as text
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("<img src=x onerror=alert(2)>.py", "x = 1\n")
    refused = alice.post(
        "/upload",
        data={"csrf": portal.csrf(alice), "module": "mini"},
        files={"file": ("work.zip", archive.getvalue(), "application/zip")},
    )
    assert refused.status_code == 422 and "<img src=x" not in refused.text
    assert "&lt;img src=x onerror=alert(2)&gt;.py" in refused.text  # intake's message, escaped


def test_regrade_and_extension(course_layout, tmp_path) -> None:
    p = make_portal(course_layout, tmp_path / "portal.sqlite")
    first = p.upload("alice").json()["id"]
    p.upload("bob", HALF)
    p.drain()
    tina = p.signed_in("tina")
    csrf = p.csrf(tina)
    granted = tina.post(
        "/staff/extensions",
        data={"csrf": csrf, "student": "alice", "module": "mini", "due": "2030-01-01T00:00:00+00:00"},
    )
    assert granted.status_code == 200 and "2030-01-01" in granted.text
    assert "your extension: 2030-01-01" in p.signed_in("alice").get("/").text
    assert (
        tina.post("/staff/regrade", data={"csrf": csrf, "module": "mini", "student": "alice"}).status_code
        == 200
    )
    with store.closing(p.db) as db:
        again = store.jobs(db, status="queued")
        assert [(j.student, j.regrade_of) for j in again] == [("alice", first)]
    tina.post("/staff/regrade", data={"csrf": csrf, "module": "mini"})  # the whole module
    p.drain()
    with store.closing(p.db) as db:
        jobs = store.jobs(db)
        assert [j.status for j in jobs] == ["graded"] * 5
        assert sorted(j.student for j in jobs if j.regrade_of) == ["alice", "alice", "bob"]
        original = next(j for j in jobs if j.id == first)
        assert all(j.submitted_at == original.submitted_at for j in jobs if j.regrade_of == first)
        query = "SELECT results_json FROM submissions WHERE student=? AND module='mini' ORDER BY id DESC"
        alices = json.loads(db.execute(query, ("alice",)).fetchone()[0])
        bobs = json.loads(db.execute(query, ("bob",)).fetchone()[0])
    assert alices["extra_data"]["late"]["due"].startswith("2030-01-01")  # her extension, in the regrade
    assert bobs["extra_data"]["late"]["due"] is None and bobs["score"] == 2


def test_quiz_is_the_students_own_variant_graded_and_recorded(portal: Portal) -> None:
    alice = portal.signed_in("alice")
    page = alice.get("/quiz/mini").text
    assert "Which one is a tokenizer algorithm?" in page
    from autograder.quiz.variant import load_quiz

    variant = load_quiz(portal.layout, "mini").variant("alice")
    assert f"Your variant: {variant.seed}." in page
    right = next(i for i in variant.items if i.qid == "capital")
    key = next(c.key for c in right.choices if c.correct)
    result = alice.post(
        "/quiz/mini", data={"csrf": portal.csrf(alice), "answer-capital": key, "answer-sum": "5"}
    )
    assert "Score: <strong>2 / 2</strong>" in result.text
    tina = portal.signed_in("tina")
    assert "mini-quiz" in tina.get("/staff/gradebook").text
    assert alice.get("/quiz/nope").status_code == 404


def test_roster_import_and_token_commands(course_layout, tmp_path) -> None:
    from typer.testing import CliRunner

    from autograder.cli import app

    db, roster = tmp_path / "portal.sqlite", tmp_path / "roster.csv"
    roster.write_text(
        "student_id,name,email,section\ns1,Sam One,s1@example.edu,A\ns2,Sue Two,s2@example.edu,B\n"
    )
    runner = CliRunner()
    env = {"COURSE_ROOT": str(course_layout.root)}
    out = runner.invoke(
        app,
        ["portal", "roster", "import", str(roster), "--db", str(db), "--url", "https://p.example"],
        env=env,
    )
    assert out.exit_code == 0, out.output
    lines = out.output.strip().splitlines()
    assert [line.split(",")[:2] for line in lines] == [["s1", "s1@example.edu"], ["s2", "s2@example.edu"]]
    link = lines[0].split(",")[2]
    assert link.startswith("https://p.example/signin/")
    ta = runner.invoke(app, ["portal", "token", "tina", "--role", "ta", "--db", str(db)], env=env)
    assert ta.exit_code == 0
    p = make_portal(course_layout, db)
    assert p.client.get(f"/signin/{link.rsplit('/', 1)[1]}", follow_redirects=False).status_code == 303
    listed = p.client.get("/api/submissions", headers={"Authorization": f"Bearer {ta.output.strip()}"})
    assert listed.status_code == 200
    with store.closing(db) as conn:
        assert store.get_user(conn, "s2").section == "B" and store.get_user(conn, "tina").role == "ta"
    bad = runner.invoke(app, ["portal", "token", "x", "--role", "admin", "--db", str(db)], env=env)
    assert bad.exit_code == 2 and "role 'admin'" in bad.output
