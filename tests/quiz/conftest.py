"""A tiny course with one bank that uses every question type, and no models: tests run in seconds."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from autograder.layout import Layout
from autograder.quiz.variant import Quiz, load_quiz

COURSE = """
course: {id: demo-course, title: Demo}
modules:
  - {id: q1, title: Quiz demo, points: 10, files: [lab.py]}
"""

BANK = """
quiz:
  title: Demo quiz
  intro: Answer everything.
pools:
  pick-one: {pick: 1, questions: [pool-a, pool-b, pool-c]}
questions:
  - id: single
    type: single
    tags: [basics]
    prompt: Which one is a tokenizer algorithm?
    choices:
      - {text: WordPiece, correct: true, explain: BERT uses it.}
      - {text: Adam, explain: An optimizer.}
      - {text: ReLU, explain: An activation.}
      - {text: All of the above, explain: Only one is.}
  - id: multi
    type: multi
    tags: [basics]
    penalty: 0.5
    prompt: Which are encoder-only models?
    choices:
      - {text: BERT, correct: true, explain: Encoder-only.}
      - {text: MiniLM, correct: true, explain: A small BERT.}
      - {text: GPT-2, explain: Decoder-only.}
      - {text: T5, explain: Encoder-decoder.}
  - id: strict-multi
    type: multi
    tags: [basics]
    partial: false
    shuffle: false
    prompt: Pick the even numbers.
    choices:
      - {text: "2", correct: true}
      - {text: "3"}
      - {text: "4", correct: true}
  - id: tf
    type: truefalse
    tags: [basics]
    prompt: BERT is a decoder-only model.
    answer: false
    explain: BERT is encoder-only.
  - id: linear-params
    type: numeric
    tags: [model-size]
    params:
      d_in: {min: 16, max: 512, step: 16}
      d_out: {choices: [2, 3, 10]}
    prompt: How many parameters does `nn.Linear({{ d_in }}, {{ d_out }})` have?
    answer: d_in * d_out + d_out
    explain: "{{ d_in }} × {{ d_out }} weights plus {{ d_out }} biases."
  - id: ratio
    type: numeric
    tags: [model-size]
    prompt: What share of 22.7 million parameters is 74 thousand? (a fraction)
    answer: 0.00326
    rel_tol: 0.02
  - id: short
    type: text
    tags: [basics]
    prompt: Name the token BERT puts first.
    accept: ["[CLS]", CLS]
    regex: ['\\[?cls\\]? ?token']
  - id: order
    type: ordering
    tags: [pipeline]
    partial: true
    prompt: Order the steps.
    items: [tokenize, forward pass, softmax, argmax]
  - id: code
    type: code
    tags: [python]
    code: |
      print(sorted({3, 1, 2}))
  - id: code-choice
    type: code
    tags: [python]
    code: |
      print(len("héllo".encode("utf-8")))
    distractors:
      - {text: "5", explain: "That counts characters, not bytes."}
      - {text: "10", explain: UTF-8 is not two bytes per character.}
  - {id: pool-a, type: truefalse, tags: [pool], prompt: A is true., answer: true}
  - {id: pool-b, type: truefalse, tags: [pool], prompt: B is true., answer: true}
  - {id: pool-c, type: truefalse, tags: [pool], prompt: C is true., answer: true}
"""


def write_course(root: Path, bank: str = BANK) -> Layout:
    (root / "quizzes").mkdir(parents=True, exist_ok=True)
    (root / "course.yaml").write_text(textwrap.dedent(COURSE))
    (root / "quizzes" / "q1.yaml").write_text(textwrap.dedent(bank))
    return Layout(root)


@pytest.fixture(scope="session")
def demo_assets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One asset cache for all demo courses, so each snippet runs once per test session."""
    return tmp_path_factory.mktemp("demo-assets")


@pytest.fixture
def demo(tmp_path: Path, demo_assets: Path, monkeypatch: pytest.MonkeyPatch) -> Layout:
    """The demo course, as the current course (COURSE_ROOT)."""
    monkeypatch.setenv("COURSE_ROOT", str(tmp_path))
    monkeypatch.setenv("COURSE_ASSETS", str(demo_assets))
    return write_course(tmp_path)


@pytest.fixture
def quiz(demo: Layout) -> Quiz:
    return load_quiz(demo, "q1")
