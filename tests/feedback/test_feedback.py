"""Feedback reports: students see only what the instructor made visible; the instructor's report renders."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autograder.feedback import (
    instructor_report,
    render_student_html,
    render_student_markdown,
    student_feedback,
)
from autograder.gradebook import Gradebook
from autograder.gradebook.late import Lateness

DUE = datetime(2027, 2, 1, 23, 59, tzinfo=UTC)
BEFORE, AFTER = datetime(2027, 1, 20, tzinfo=UTC), datetime(2027, 2, 5, tzinfo=UTC)


def results(passed: tuple[bool, bool, bool, bool], wall: float = 2.0) -> dict:
    specs = [
        ("add() adds.", 2, "visible", "add(2, 3) should be 5 <script>alert(1)</script>"),
        ("shout() shouts.", 1, "after_due_date", "shout('hi') should be 'HI!'"),
        ("accuracy above the hidden bar", 1, "hidden", "accuracy 0.61 is below 0.83"),
        ("published later", 1, "after_published", "secret message"),
    ]
    tests = [
        {
            "number": str(i + 1),
            "name": name,
            "max_score": pts,
            "visibility": vis,
            "score": pts if ok else 0.0,
            "status": "passed" if ok else "failed",
            "output": "Passed." if ok else msg,
            "extra_data": {"id": f"test_{i}"},
        }
        for i, ((name, pts, vis, msg), ok) in enumerate(zip(specs, passed, strict=True))
    ]
    return {
        "tests": tests,
        "score": sum(t["score"] for t in tests),
        "output": "",
        "extra_data": {"wall_time": wall, "worker_peak_memory_bytes": 300 * 2**20},
    }


def test_before_the_due_date_only_visible_tests_and_no_total():
    fb = student_feedback(
        results((False, False, False, False)), student="ada", module="m", title="Mod", due=DUE, now=BEFORE
    )
    assert [t.name for t in fb.tests] == ["add() adds."]
    assert fb.withheld == 3 and fb.total is None
    html = render_student_html(fb)
    md = render_student_markdown(fb)
    for text in (html, md):
        assert "add(2, 3) should be 5" in text
        for secret in ("shout", "0.83", "hidden bar", "secret message", "published later"):
            assert secret not in text, f"{secret!r} leaked before the due date"
        assert "3 more tests graded your work" in text
    assert "<script>" not in html and "&lt;script&gt;" in html, "messages are escaped"


def test_after_the_due_date_after_due_tests_appear_hidden_ones_never():
    fb = student_feedback(
        results((True, False, False, True)), student="ada", module="m", title="Mod", due=DUE, now=AFTER
    )
    assert [t.name for t in fb.tests] == ["add() adds.", "shout() shouts."]
    html = render_student_html(fb)
    assert "shout(&#39;hi&#39;) should be &#39;HI!&#39;" in html
    assert "0.83" not in html and "secret message" not in html and fb.total is None
    everything_visible = results((True, True, True, True))
    for t in everything_visible["tests"]:
        t["visibility"] = "visible"
    fb = student_feedback(everything_visible, student="ada", module="m", title="Mod", due=DUE, now=BEFORE)
    assert fb.total == 5 and "Score: <strong>5 / 5</strong>" in render_student_html(fb)


def report_html(tmp_path: Path) -> str:
    book = Gradebook(tmp_path / "gb.sqlite")
    patterns = [
        (True, True, True, True),
        (True, False, True, False),
        (False, False, False, False),
        (True, True, False, True),
        (True, True, True, False),
    ]
    for i, passed in enumerate(patterns):
        r = results(passed, wall=1.0 + i)
        late = Lateness(AFTER, DUE, 3.0, 0.3) if i == 3 else Lateness(BEFORE, DUE)
        book.record("m", f"student{i}", f"hash{i}", "v1", r, late)
    html = instructor_report(book.latest("m"), module="m", title="Mod", points=5)
    book.close()
    return html


def test_instructor_report_embeds_plots_and_lists_slow_and_failing_work(tmp_path):
    html = report_html(tmp_path)
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 2
    assert all(base64.b64decode(img).startswith(b"\x89PNG") for img in images)
    slowest = html.split("Slowest submissions")[1].split("Failing submissions")[0]
    assert slowest.index("student4") < slowest.index("student0"), "slowest first"
    failing = html.split("Failing submissions")[1]
    assert "student2" in failing and "student0" not in failing
    assert "60%" in html  # 3 of 5 pass "shout() shouts."


def test_instructor_report_renders_in_headless_chromium(tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")
    page = tmp_path / "report.html"
    page.write_text(report_html(tmp_path))
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1100,1400",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.is_file(), "chromium wrote no screenshot"
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[0] >= 1000 and pixels.shape[1] >= 1000
    # Plots drawn: a good share of the page is neither white nor near-white.
    coloured = (pixels[..., :3].min(axis=2) < 0.8).mean()
    assert coloured > 0.03, f"only {coloured:.1%} of the page is drawn; did the images fail to load?"
