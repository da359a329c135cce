"""LMS export: GIFT round-trips through our parser; the Canvas QTI package is well-formed XML."""

import io
import xml.etree.ElementTree as ET
import zipfile

import pytest

from autograder.quiz.gift import escape, export_gift, parse_gift
from autograder.quiz.qti import NS, export_qti_zip

Q = f"{{{NS}}}"


@pytest.fixture
def items(quiz):
    return {
        (i.qid if not i.question.templated else f"{i.qid}-{i.number}"): i
        for g in quiz.groups(instances=3)
        for i in g.items
    }


def test_gift_round_trip_keeps_text_answers_weights_and_feedback(quiz, items):
    parsed = {q.title: q for q in parse_gift(export_gift(quiz, instances=3))}
    assert set(parsed) == set(items)
    for title, item in items.items():
        q = parsed[title]
        assert q.text == item.prompt.strip() and q.format == "markdown"
        assert q.general_feedback == item.explain.strip()
        match item.kind:
            case "single":
                assert [(a.text, a.weight > 0, a.feedback) for a in q.answers] == [
                    (c.text, c.correct, c.explain) for c in item.choices
                ]
            case "multi":
                assert sum(a.weight for a in q.answers if a.weight > 0) == pytest.approx(100, abs=1e-3)
                assert {a.text for a in q.answers if a.weight > 0} == {
                    c.text for c in item.choices if c.correct
                }
            case "truefalse":
                assert q.truth is item.answer
            case "numeric":
                assert q.number == (item.answer, item.tolerance)
            case "text":
                assert q.kind == "shortanswer" and [a.text for a in q.answers] == item.answer
            case "ordering":
                by_key = {c.key: c.text for c in item.choices}
                assert [(a.text, a.match) for a in q.answers] == [
                    (by_key[k], str(n)) for n, k in enumerate(item.answer, start=1)
                ]


def test_pools_and_parameterised_copies_become_categories(quiz):
    categories = {q.category for q in parse_gift(export_gift(quiz, instances=3))}
    assert categories == {
        "$course$/demo-course/q1",
        "$course$/demo-course/q1/pick-one",
        "$course$/demo-course/q1/linear-params",
    }


def test_gift_escapes_every_special_character():
    text = "a = {b} ~ c # d: e \\ f\nnext line"
    [q] = parse_gift(f"::t::{escape(text)}{{=ok}}")
    assert q.text == text and q.answers[0].text == "ok"


def test_qti_package_is_well_formed_and_keyed(quiz):
    with zipfile.ZipFile(io.BytesIO(export_qti_zip(quiz))) as zf:
        manifest = ET.fromstring(zf.read("imsmanifest.xml"))
        href = next(el for el in manifest.iter() if el.tag.endswith("file")).get("href")
        root = ET.fromstring(zf.read(href))
    items = {el.get("ident"): el for el in root.iter(f"{Q}item")}
    assert len(items) == sum(len(g.items) for g in quiz.groups())
    types = {
        i: next(
            f.findtext(f"{Q}fieldentry")
            for f in el.iter(f"{Q}qtimetadatafield")
            if f.findtext(f"{Q}fieldlabel") == "question_type"
        )
        for i, el in items.items()
    }
    assert types["single"] == "multiple_choice_question" and types["order"] == "matching_question"
    assert types["multi"] == "multiple_answers_question" and types["linear-params-1"] == "numerical_question"
    single = quiz.groups()[0].items[0]
    right = [c.key for c in single.choices if c.correct]
    scored = [c for c in items["single"].iter(f"{Q}respcondition") if c.findtext(f"{Q}setvar") == "100"]
    assert [v.text for v in scored[0].iter(f"{Q}varequal")] == right
    pool = next(s for s in root.iter(f"{Q}section") if s.get("ident") == "pool-pick-one")
    assert pool.findtext(f".//{Q}selection_number") == "1" and len(pool.findall(f"{Q}item")) == 3
