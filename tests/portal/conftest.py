"""The portal on the mini course (grades in a second), with a quiz and four accounts."""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from autograder.layout import Layout
from autograder.portal import store
from autograder.portal.app import create_app
from autograder.portal.deps import SESSION_COOKIE, csrf_token
from autograder.portal.grader import drain
from tests.conftest import MINI_GOOD, write_mini_course

BANK = """
quiz:
  title: Mini quiz
questions:
  - id: capital
    type: single
    tags: [basics]
    prompt: Which one is a tokenizer algorithm?
    choices:
      - {text: WordPiece, correct: true}
      - {text: Adam}
      - {text: ReLU}
  - id: sum
    type: numeric
    tags: [basics]
    prompt: What is 2 + 3?
    answer: 5
"""

HALF = """
def add(a, b):
    return a - b

def shout(text):
    return text.upper() + "!"

def write_file(path):
    with open(path, "w") as fh:
        fh.write("hello")
    return path
"""  # fails test_add

ROSTER = [("alice", "student"), ("bob", "student"), ("tina", "ta"), ("ines", "instructor")]


def write_course(root: Path) -> Layout:
    layout = write_mini_course(root)
    (root / "quizzes").mkdir()
    (root / "quizzes" / "mini.yaml").write_text(textwrap.dedent(BANK).lstrip())
    return layout


@pytest.fixture(scope="session")
def course_layout(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    return write_course(tmp_path_factory.mktemp("portal-course") / "course")


@dataclass
class Portal:
    layout: Layout
    db: Path
    client: TestClient

    def token(self, sid: str) -> str:
        with store.closing(self.db) as db:
            return store.new_secret(db, sid, "token")

    def link(self, sid: str) -> str:
        with store.closing(self.db) as db:
            return store.new_secret(db, sid, "link")

    def api(self, sid: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(sid)}"}

    def signed_in(self, sid: str) -> TestClient:
        """A browser-like client holding `sid`'s session cookie."""
        client = TestClient(self.client.app, base_url="https://testserver")
        response = client.get(f"/signin/{self.link(sid)}", follow_redirects=False)
        assert response.status_code == 303, response.text
        return client

    @staticmethod
    def csrf(client: TestClient) -> str:
        return csrf_token(client.cookies[SESSION_COOKIE])

    def upload(self, sid: str, source: str = MINI_GOOD, name: str = "mini.py", module: str = "mini"):
        return self.client.post(
            "/api/submissions",
            headers=self.api(sid),
            data={"module": module},
            files={"file": (name, io.BytesIO(source.encode()), "text/x-python")},
        )

    def drain(self) -> None:
        drain(self.layout, self.db, jobs=2)


def make_portal(layout: Layout, db: Path, **options: object) -> Portal:
    app = create_app(layout, db, **options)
    with store.closing(db) as conn:
        for sid, role in ROSTER:
            store.upsert_user(conn, sid, name=sid.title(), email=f"{sid}@example.edu", section="A", role=role)
    return Portal(layout, db, TestClient(app, base_url="https://testserver"))


@pytest.fixture
def portal(course_layout: Layout, tmp_path: Path) -> Portal:
    return make_portal(course_layout, tmp_path / "portal" / "portal.sqlite")
