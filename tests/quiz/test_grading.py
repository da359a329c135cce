"""Grading: each type's credit rule, unreadable answers, feedback, and the responses files."""

import csv
import json

import pytest

from autograder.quiz.grading import (
    Response,
    grade_item,
    grade_responses,
    key_response,
    parse_response,
    read_responses,
    write_feedback,
    write_grades_csv,
)


def keys(item, texts):
    return ",".join(c.key for c in item.choices if c.text in texts)


@pytest.fixture
def v(quiz):
    return quiz.variant("alice")


def test_every_key_earns_full_marks(v):
    for item in v.items:
        assert grade_item(item, key_response(item)).score == item.points, item.qid


def test_single_choice_feedback_explains_the_pick_and_the_answer(v):
    item = v.item("single")
    result = grade_item(item, f"({keys(item, ['Adam'])})")
    assert result.score == 0
    assert any(line.startswith("✗ you chose") and "An optimizer." in line for line in result.feedback)
    assert any(line.startswith("○ the answer includes") and "WordPiece" in line for line in result.feedback)


def test_multi_partial_credit_with_penalty(v):
    item = v.item("multi")  # two right (BERT, MiniLM), penalty 0.5
    assert grade_item(item, keys(item, ["BERT"])).score == 0.5
    assert grade_item(item, keys(item, ["BERT", "GPT-2"])).score == 0.25
    assert grade_item(item, keys(item, ["GPT-2", "T5"])).score == 0
    assert grade_item(item, keys(item, ["BERT", "MiniLM", "T5"])).score == 0.75
    assert grade_item(item, " ; ".join(keys(item, ["BERT", "MiniLM"]).split(","))).score == 1


def test_multi_all_or_nothing(v):
    item = v.item("strict-multi")
    assert grade_item(item, "a").score == 0 and grade_item(item, "a,c").score == 1


def test_true_false_accepts_common_spellings(v):
    item = v.item("tf")
    assert [grade_item(item, a).score for a in ("F", "false", "no", "True")] == [1, 1, 1, 0]


def test_numeric_absolute_and_relative_tolerance(v):
    exact = v.item("linear-params")
    assert grade_item(exact, str(int(exact.answer))).correct
    assert not grade_item(exact, str(int(exact.answer) + 1)).correct
    ratio = v.item("ratio")  # 0.00326 with 2% relative tolerance
    assert grade_item(ratio, "0.0033").correct and not grade_item(ratio, "0.0034").correct
    assert grade_item(ratio, "3.26e-3").correct


def test_numeric_accepts_digit_grouping(v):
    assert parse_response(v.item("linear-params"), "22,700,000") == "22700000"
    assert parse_response(v.item("linear-params"), "22 700 000") == "22700000"
    with pytest.raises(ValueError, match="decimals with a point"):
        parse_response(v.item("ratio"), "0,5")  # never read as 5


def test_text_normalised_or_regex(v):
    item = v.item("short")
    assert [
        grade_item(item, a).correct for a in ("[cls]", " `CLS`. ", "cls token", "[CLS] token", "SEP")
    ] == [True, True, True, True, False]


def test_ordering_partial_credit_is_the_share_of_pairs_in_order(v):
    item = v.item("order")  # partial: 6 pairs among 4 items
    right = item.answer
    swapped = [right[1], right[0], *right[2:]]
    assert grade_item(item, ",".join(right)).score == 1
    assert grade_item(item, ",".join(swapped)).score == pytest.approx(5 / 6)
    assert grade_item(item, ",".join(reversed(right))).score == 0


def test_code_output_compared_without_spaces(v):
    item = v.item("code")
    assert grade_item(item, "[1,2,3]").correct and not grade_item(item, "[3, 2, 1]").correct


def test_unreadable_and_missing_answers_score_zero_and_say_why(v):
    item = v.item("single")
    result = grade_item(item, "z")
    assert result.score == 0 and "could not be read" in result.feedback[0]
    assert grade_item(item, None).feedback[0] == "No answer given."
    with pytest.raises(ValueError, match="exactly once"):
        parse_response(v.item("order"), "a,a,b,c")


def test_csv_and_json_responses_grade_each_student_against_their_own_variant(quiz, tmp_path):
    rows = []
    for student in ("alice", "bob"):
        variant = quiz.variant(student)
        rows.append({"student": student, **{i.qid: key_response(i) for i in variant.items}})
    ids = [q.id for q in quiz.bank.questions]
    with open(tmp_path / "r.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, ["student", *ids])
        writer.writeheader()
        writer.writerows(rows)
    (tmp_path / "r.json").write_text(json.dumps([{"student": r.pop("student"), "answers": r} for r in rows]))
    for name in ("r.csv", "r.json"):
        grades = grade_responses(quiz, read_responses(tmp_path / name))
        assert [(g.student, g.score) for g in grades] == [("alice", 11), ("bob", 11)]
    # alice's key is not bob's key: choices are shuffled per student
    alice_answers = read_responses(tmp_path / "r.csv")[0].answers
    assert grade_responses(quiz, [Response("bob", alice_answers)])[0].score < 11


def test_grades_csv_and_feedback_files(quiz, tmp_path):
    variant = quiz.variant("al/ice")
    answers = {i.qid: key_response(i) for i in variant.items}
    answers["tf"] = "true"
    grades = grade_responses(quiz, read_responses(_json(tmp_path, "al/ice", answers)))
    write_grades_csv(grades, [q.id for q in quiz.bank.questions], tmp_path / "out" / "grades.csv")
    write_feedback(grades, tmp_path / "out" / "feedback")
    with open(tmp_path / "out" / "grades.csv", newline="") as fh:
        row = next(csv.DictReader(fh))
    assert (row["score"], row["max_score"], row["tf"], row["single"]) == ("10", "11", "0", "1")
    assert sum(row[p] != "" for p in ("pool-a", "pool-b", "pool-c")) == 1
    feedback = json.loads((tmp_path / "out" / "feedback" / "al_ice.json").read_text())
    tf = next(i for i in feedback["items"] if i["qid"] == "tf")
    assert tf["score"] == 0 and "BERT is encoder-only." in tf["feedback"]


def _json(tmp_path, student, answers):
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"student": student, "answers": answers}))
    return path


def test_unreadable_responses_files_are_refused_with_the_line(tmp_path):
    from autograder.yamlconf import ConfigError

    (tmp_path / "r.csv").write_text("student,tf\na1,true\n,false\n")
    with pytest.raises(ConfigError, match="r.csv: line 3: no student id"):
        read_responses(tmp_path / "r.csv")
    (tmp_path / "r.json").write_text('[{"student": "a1", "answers": ["b"]}]')
    with pytest.raises(ConfigError, match="entry 0 must look like"):
        read_responses(tmp_path / "r.json")
