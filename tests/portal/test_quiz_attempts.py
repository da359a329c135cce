"""The portal's quiz attempts: the bank's limit, feedback only after the last attempt, the score the
gradebook keeps (best or last), a TA's extra attempt, and each student's own count."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from autograder.layout import Layout
from autograder.portal import store
from autograder.quiz.variant import load_quiz
from tests.portal.conftest import Portal, make_portal, write_course

BANK = """
quiz:
  title: Mini quiz
  {policy}
questions:
  - id: capital
    type: single
    tags: [basics]
    prompt: Which one is a tokenizer algorithm?
    explain: WordPiece splits words into subword units.
    choices:
      - {{text: WordPiece, correct: true}}
      - {{text: Adam}}
      - {{text: ReLU}}
  - id: sum
    type: numeric
    tags: [basics]
    prompt: What is 2 + 3?
    answer: 5
    explain: Two plus three makes five.
"""
EXPLAINED = ("splits words into subword units", "makes five")


@pytest.fixture(scope="module")
def quiz_portal(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Portal]:
    """A fresh portal whose bank's quiz header has `policy` (e.g. "attempts: 3") added."""

    def make(policy: str) -> Portal:
        root = tmp_path_factory.mktemp("quiz-attempts")
        layout = write_course(root / "course")
        bank = textwrap.dedent(BANK).lstrip().format(policy=policy.replace("\n", "\n  "))
        (root / "course" / "quizzes" / "mini.yaml").write_text(bank)
        return make_portal(layout, root / "portal.sqlite")

    return make


def answers(layout: Layout, sid: str, capital: bool, total: bool) -> dict[str, str]:
    """`sid`'s answers, each right or wrong as asked (the choice letters are theirs)."""
    item = next(i for i in load_quiz(layout, "mini").variant(sid).items if i.qid == "capital")
    key = next(c.key for c in item.choices if c.correct is capital)
    return {"answer-capital": key, "answer-sum": "5" if total else "4"}


def hand_in(p: Portal, client: TestClient, sid: str, capital: bool, total: bool):
    return client.post("/quiz/mini", data={"csrf": p.csrf(client), **answers(p.layout, sid, capital, total)})


def gradebook_scores(db: Path, sid: str) -> list[float]:
    """Every score recorded in the gradebook for `sid`'s quiz, oldest first (the newest is reported)."""
    with store.closing(db) as conn:
        query = "SELECT raw_score FROM submissions WHERE module='mini-quiz' AND student=? ORDER BY id"
        return [r[0] for r in conn.execute(query, (sid,))]


def test_one_attempt_by_default_then_refused_and_nothing_recorded(portal: Portal) -> None:
    alice = portal.signed_in("alice")
    assert "Attempt 1 of 1." in alice.get("/quiz/mini").text
    first = hand_in(portal, alice, "alice", capital=True, total=False)
    assert "Score: <strong>1 / 2</strong>" in first.text and "That was your last attempt." in first.text
    again = hand_in(portal, alice, "alice", capital=True, total=True)
    assert again.status_code == 409 and "used all 1 attempt(s)" in again.text
    assert "Score:" not in again.text
    assert gradebook_scores(portal.db, "alice") == [1.0]
    with store.closing(portal.db) as db:
        assert len(store.quiz_attempts(db, "alice", "mini")) == 1
    revisit = alice.get("/quiz/mini")  # the result, no form to hand in
    assert "Score: <strong>1 / 2</strong>" in revisit.text and 'action="/quiz/mini"' not in revisit.text


def test_feedback_hidden_until_the_last_attempt_and_best_kept(quiz_portal) -> None:
    p = quiz_portal("attempts: 3")  # keep: best by default
    alice = p.signed_in("alice")
    wrong = hand_in(p, alice, "alice", capital=False, total=False)
    assert "Score: <strong>0 / 2</strong>" in wrong.text and "Attempt 1 of 3." in wrong.text
    assert wrong.text.count('class="verdict">wrong') == 2 and "2 attempt(s) left" in wrong.text
    right = hand_in(p, alice, "alice", capital=True, total=True)
    assert right.text.count('class="verdict">right') == 2
    for page in (wrong.text, right.text):
        assert not any(e in page for e in EXPLAINED) and "WordPiece" not in page  # not even the key
    assert not any(e in alice.get("/quiz/mini").text for e in EXPLAINED)
    assert "Attempt 3 of 3." in alice.get("/quiz/mini").text
    last = hand_in(p, alice, "alice", capital=True, total=False)
    assert "Score: <strong>1 / 2</strong>" in last.text and all(e in last.text for e in EXPLAINED)
    assert "Your grade (your best attempt): <strong>2 / 2</strong>" in last.text
    assert all(e in alice.get("/quiz/mini").text for e in EXPLAINED)
    assert gradebook_scores(p.db, "alice") == [0.0, 2.0]  # the newest row is the best; 1/2 not recorded
    assert hand_in(p, alice, "alice", capital=True, total=True).status_code == 409
    assert gradebook_scores(p.db, "alice") == [0.0, 2.0]


def test_keep_last_records_every_attempt_even_a_repeated_one(quiz_portal) -> None:
    p = quiz_portal("attempts: 3\nkeep: last")
    alice = p.signed_in("alice")
    hand_in(p, alice, "alice", capital=True, total=True)
    hand_in(p, alice, "alice", capital=False, total=False)
    assert gradebook_scores(p.db, "alice") == [2.0, 0.0]
    last = hand_in(p, alice, "alice", capital=False, total=False)  # the same answers as the second
    assert "Your grade (your last attempt): <strong>0 / 2</strong>" in last.text
    assert gradebook_scores(p.db, "alice") == [2.0, 0.0, 0.0]
    hand_in(p, alice, "alice", capital=True, total=True)  # refused: the last one stays
    assert gradebook_scores(p.db, "alice") == [2.0, 0.0, 0.0]


def test_a_granted_attempt_and_each_students_own_count(portal: Portal) -> None:
    alice, bob, tina = portal.signed_in("alice"), portal.signed_in("bob"), portal.signed_in("tina")
    assert "Score: <strong>2 / 2</strong>" in hand_in(portal, bob, "bob", capital=True, total=True).text
    page = alice.get("/quiz/mini").text  # bob's attempt is not hers
    assert "Attempt 1 of 1." in page and "Your attempts so far" not in page
    hand_in(portal, alice, "alice", capital=False, total=False)
    assert hand_in(portal, alice, "alice", capital=True, total=True).status_code == 409

    grant = {"student": "alice", "module": "mini"}
    assert alice.post("/staff/quiz-attempts", data={"csrf": portal.csrf(alice), **grant}).status_code == 403
    assert tina.post("/staff/quiz-attempts", data={"csrf": "forged", **grant}).status_code == 403
    unknown = {"csrf": portal.csrf(tina), "student": "mallory", "module": "mini"}
    assert tina.post("/staff/quiz-attempts", data=unknown).status_code == 404
    granted = tina.post("/staff/quiz-attempts", data={"csrf": portal.csrf(tina), **grant})
    assert granted.status_code == 200 and "<td>alice</td><td>mini</td><td>1</td><td>1</td>" in granted.text

    page = alice.get("/quiz/mini").text
    assert "Attempt 2 of 2." in page and "Your attempts so far:\n  1: 0/2." in page
    second = hand_in(portal, alice, "alice", capital=True, total=True)
    assert "Score: <strong>2 / 2</strong>" in second.text and "That was your last attempt." in second.text
    assert gradebook_scores(portal.db, "alice") == [0.0, 2.0] and gradebook_scores(portal.db, "bob") == [2.0]
    assert hand_in(portal, bob, "bob", capital=True, total=True).status_code == 409  # alice's grant only
    assert hand_in(portal, alice, "alice", capital=True, total=True).status_code == 409


def test_the_bank_checks_attempts_and_keep(tmp_path: Path) -> None:
    from autograder.quiz.bank import load_bank
    from autograder.yamlconf import ConfigError

    bank = tmp_path / "mini.yaml"
    bank.write_text(textwrap.dedent(BANK).lstrip().format(policy="attempts: 0\n  keep: first"))
    with pytest.raises(ConfigError) as error:
        load_bank(bank)
    assert "mini.yaml:3: quiz.attempts: Input should be greater than or equal to 1" in str(error.value)
    assert "mini.yaml:4: quiz.keep: Input should be 'best' or 'last'" in str(error.value)
