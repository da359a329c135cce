"""Quiz rows for `course validate`: prove a bank right before students see it.

- the bank loads (fewer than MIN_QUESTIONS questions pass with a warning: variants then overlap);
- every question's key grades as fully correct, over many draws of its parameters;
- every sample student's variant renders as Markdown, HTML and a notebook, with and without key;
- the GIFT export parses back with one question per item, and the QTI export is well-formed XML;
- every code question's answer is reproduced by running its snippet again, ignoring the cache.
"""

from __future__ import annotations

import io
import random
import time
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from pathlib import Path

from autograder.layout import Layout
from autograder.quiz.bank import Code
from autograder.quiz.codeq import CodeRunner
from autograder.quiz.gift import export_gift, parse_gift
from autograder.quiz.grading import grade_item, key_response
from autograder.quiz.qti import export_qti_zip
from autograder.quiz.render import FORMATS, render
from autograder.quiz.variant import Quiz, load_quiz, make_item
from autograder.yamlconf import ConfigError

MIN_QUESTIONS = 12  # below this a bank is accepted, with a warning: students' variants barely differ
SAMPLE_STUDENTS = 12  # variants rendered per bank
DRAWS = 20  # parameter draws graded per parameterised question

Row = tuple[str, bool, str, float]  # name, ok, detail, seconds: a `Check` without its module


def _timed(name: str, check: Callable[[], tuple[bool, str]]) -> Row:
    started = time.perf_counter()
    try:
        ok, detail = check()
    except Exception as exc:  # noqa: BLE001 - any failure is a failed check with its message
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    return name, ok, detail, time.perf_counter() - started


def keys_grade_correct(quiz: Quiz) -> tuple[bool, str]:
    wrong, graded = [], 0
    for q in quiz.bank.questions:
        for draw in range(DRAWS if q.templated else 1):
            item = make_item(q, 1, random.Random(f"validate:{q.id}:{draw}"), quiz.outputs)
            graded += 1
            if not grade_item(item, key_response(item)).correct:
                wrong.append(f"{q.id} (values {item.values})" if item.values else q.id)
                break
    return not wrong, f"key not graded correct: {', '.join(wrong)}" if wrong else f"{graded} items graded"


def sample_students(n: int = SAMPLE_STUDENTS) -> list[str]:
    return [f"validate-{i:03d}" for i in range(n)]


def variants_render(quiz: Quiz) -> tuple[bool, str]:
    import nbformat

    for student in sample_students():
        variant = quiz.variant(student)
        for fmt in FORMATS:
            for key in (False, True):
                text = render(variant, fmt, key=key)
                if fmt == "ipynb":
                    nbformat.validate(nbformat.reads(text, as_version=4))
    return True, f"{SAMPLE_STUDENTS} variants × {len(FORMATS)} formats, with and without key"


def exports_parse(quiz: Quiz) -> tuple[bool, str]:
    expected = sum(len(g.items) for g in quiz.groups())
    parsed = parse_gift(export_gift(quiz))
    with zipfile.ZipFile(io.BytesIO(export_qti_zip(quiz))) as zf:
        items = [
            el
            for name in zf.namelist()
            for el in ET.fromstring(zf.read(name)).iter()
            if el.tag.endswith("}item")
        ]
    ok = len(parsed) == len(items) == expected
    return ok, f"{expected} items; GIFT parsed {len(parsed)}, QTI holds {len(items)}"


def code_reproduces(layout: Layout, quiz: Quiz) -> tuple[bool, str]:
    code = [q for q in quiz.bank.questions if isinstance(q, Code)]
    fresh = CodeRunner.for_layout(layout).outputs(code, fresh=True)
    differ = [q.id for q in code if fresh[q.id] != quiz.outputs[q.id]]
    return not differ, (
        f"output changed: {', '.join(differ)}" if differ else f"{len(code)} snippets re-run, same output"
    )


def quiz_checks(
    layout: Layout, module: str, bank_path: Path | None = None, reproduce: bool = True
) -> list[Row]:
    """The quiz rows for `module`, or none when it has no bank. `reproduce=False` skips re-running
    the snippets (the cached answers are still checked against every key)."""
    path = bank_path or layout.quiz_file(module)
    if not path.exists():
        return []
    started = time.perf_counter()
    try:
        quiz = load_quiz(layout, module, path)
    except ConfigError as exc:
        return [("quiz bank loads", False, str(exc), time.perf_counter() - started)]
    n = len(quiz.bank.questions)
    types = sorted({q.type for q in quiz.bank.questions})
    rows = [
        (
            "quiz bank loads",
            True,
            f"{n} questions ({', '.join(types)})"
            + (
                f"; warning: under {MIN_QUESTIONS}, students' variants barely differ "
                "(docs/quizzes.md#bank-size)"
                if n < MIN_QUESTIONS
                else ""
            ),
            time.perf_counter() - started,
        ),
        _timed("quiz keys grade correct", lambda: keys_grade_correct(quiz)),
        _timed("quiz variants render", lambda: variants_render(quiz)),
        _timed("quiz LMS exports parse", lambda: exports_parse(quiz)),
    ]
    if reproduce and any(isinstance(q, Code) for q in quiz.bank.questions):
        rows.append(_timed("quiz code answers reproduce", lambda: code_reproduces(layout, quiz)))
    return rows
