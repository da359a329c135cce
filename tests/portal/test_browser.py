"""A real browser (headless Debian Chromium via Playwright) through the student and the TA flows.

Screenshots are saved under the test's tmp folder (printed with -s). Skips, saying why, only where
no Chromium can be installed or launched.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from autograder.portal import store
from tests.conftest import REPO
from tests.portal.conftest import HALF
from tests.portal.test_fault import free_port, kill, start

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    if shutil.which("chromium") is None:
        subprocess.run(["sh", str(REPO / "scripts" / "install-system-deps.sh")], check=False, timeout=900)
    if not Path(CHROMIUM).is_file():
        pytest.skip(
            "Debian's chromium is not installed and cannot be installed here (needs root and apt-get)"
        )
    from playwright.sync_api import Error, sync_playwright

    with sync_playwright() as pw:
        try:
            chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        except Error as exc:
            pytest.skip(f"chromium cannot be launched here: {str(exc).splitlines()[0]}")
        yield chromium
        chromium.close()


def test_student_and_ta_flows_in_chromium(browser, course_layout, tmp_path: Path) -> None:
    db, port, log = tmp_path / "portal.sqlite", free_port(), tmp_path / "server.log"
    shots = tmp_path / "screenshots"
    shots.mkdir()
    store.init(db)
    with store.closing(db) as conn:
        store.upsert_user(conn, "alice", name="Alice Liddell", section="A")
        store.upsert_user(conn, "tina", name="Tina TA", role="ta")
        alice_link, tina_link = (
            store.new_secret(conn, "alice", "link"),
            store.new_secret(conn, "tina", "link"),
        )
    server = start(
        ["serve", "--port", str(port), "--db", str(db)], course_layout.root, log
    )  # with its grader
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                httpx.get(url, timeout=10)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        work = tmp_path / "mini.py"
        work.write_text(HALF)

        # the student: sign in by link, upload, wait for the grading, read the feedback
        student = browser.new_context().new_page()
        student.set_default_timeout(120_000)  # a loaded machine is slow, not wrong
        student.goto(f"{url}/signin/{alice_link}")
        assert "Alice Liddell (student)" in student.content()
        student.screenshot(path=shots / "1-student-modules.png", full_page=True)
        student.locator("#module-mini input[type=file]").set_input_files(str(work))
        student.locator("#module-mini button").click()
        student.wait_for_url(f"{url}/submissions/*")
        student.screenshot(path=shots / "2-student-queued.png", full_page=True)
        student.wait_for_selector("#score", timeout=180_000)  # the page refreshes itself until graded
        assert "2 / 4" in student.locator("#score").inner_text()
        student.click("#feedback")
        body = student.locator("body").inner_text()
        assert "add() adds two numbers." in body and "add(2, 3) is wrong" in body
        student.screenshot(path=shots / "3-student-feedback.png", full_page=True)
        student.goto(f"{url}/history")
        assert "graded" in student.locator("table").inner_text()

        # the TA: the queue, the gradebook, a regrade
        ta = browser.new_context().new_page()
        ta.set_default_timeout(120_000)  # a loaded machine is slow, not wrong
        ta.goto(f"{url}/signin/{tina_link}")
        ta.goto(f"{url}/staff/queue")
        assert "Running (0)" in ta.content() and "Waiting (0)" in ta.content()
        ta.screenshot(path=shots / "4-ta-queue.png", full_page=True)
        ta.goto(f"{url}/staff/gradebook?module=mini")
        assert "alice" in ta.locator("#gradebook").inner_text()
        ta.screenshot(path=shots / "5-ta-gradebook.png", full_page=True)
        ta.fill("input[name=student][placeholder^='student id (empty']", "alice")
        ta.click("#regrade")
        ta.wait_for_url(f"{url}/staff/queue*")
        ta.screenshot(path=shots / "6-ta-regrade-queued.png", full_page=True)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            with store.closing(db) as conn:
                if [j.status for j in store.jobs(conn)] == ["graded", "graded"]:
                    break
            time.sleep(0.3)
        with store.closing(db) as conn:
            jobs = store.jobs(conn)
        assert [j.status for j in jobs] == ["graded", "graded"] and jobs[1].regrade_of == jobs[0].id
        ta.goto(f"{url}/staff/gradebook?module=mini")
        ta.screenshot(path=shots / "7-ta-gradebook-after-regrade.png", full_page=True)
    finally:
        kill(server)
    assert len(list(shots.glob("*.png"))) == 7
    print(f"screenshots in {shots}")
