"""Bank loading: every mistake an instructor can make is reported at its file line and key path."""

import textwrap

import pytest

from autograder.quiz.bank import load_bank
from autograder.yamlconf import ConfigError

HEAD = "quiz: {title: T}\nquestions:\n"


def error_for(tmp_path, questions: str, head: str = HEAD) -> str:
    path = tmp_path / "bank.yaml"
    path.write_text(head + textwrap.dedent(questions))
    with pytest.raises(ConfigError) as info:
        load_bank(path)
    return str(info.value)


def test_two_right_answers_in_a_single_choice_question(tmp_path):
    msg = error_for(
        tmp_path,
        """\
      - id: a
        type: single
        prompt: p
        tags: [t]
        choices: [{text: x, correct: true}, {text: y, correct: true}]
    """,
    )
    assert "bank.yaml:3: questions.0:" in msg and "exactly one choice" in msg


def test_a_wrong_field_is_located_at_its_own_line_without_the_type_in_the_path(tmp_path):
    msg = error_for(
        tmp_path,
        """\
      - id: a
        type: numeric
        prompt: p
        tags: [t]
        answer: 3
        abs_tol: -1
    """,
    )
    assert "bank.yaml:8: questions.0.abs_tol: Input should be greater than or equal to 0" in msg


@pytest.mark.parametrize(
    ("prompt", "answer", "expected"),
    [
        ("{{ d_in }}", "d_in * d_out", "bank.yaml:8: questions.0.answer: 'd_in * d_out' uses d_out"),
        ("Linear({{ d_in }}, {{ width }})", "d_in", "bank.yaml:5: questions.0.prompt: uses width"),
    ],
)
def test_names_in_answers_and_templates_must_be_params(tmp_path, prompt, answer, expected):
    msg = error_for(
        tmp_path,
        f"""\
      - id: a
        type: numeric
        prompt: "{prompt}"
        tags: [t]
        params: {{d_in: {{min: 1, max: 4}}}}
        answer: {answer}
    """,
    )
    assert expected in msg


def test_unknown_type_unparsable_code_and_bad_regex(tmp_path):
    assert "does not match any of the expected tags" in error_for(
        tmp_path,
        """\
      - {id: a, type: essay, prompt: p, tags: [t]}
    """,
    )
    assert "code does not parse" in error_for(
        tmp_path,
        """\
      - {id: a, type: code, tags: [t], code: "print(("}
    """,
    )
    assert "does not compile" in error_for(
        tmp_path,
        """\
      - {id: a, type: text, prompt: p, tags: [t], accept: [x], regex: ["(unclosed"]}
    """,
    )


def test_pools_must_name_existing_questions_and_pick_at_most_all(tmp_path):
    q = "  - {id: a, type: truefalse, prompt: p, tags: [t], answer: true}\n"
    head = "quiz: {title: T}\npools:\n  p1: {pick: 2, questions: [a]}\nquestions:\n"
    assert "pools.p1: pick 2 of only 1 questions" in error_for(tmp_path, q, head)
    head = "quiz: {title: T}\npools:\n  p1: {pick: 1, questions: [zz]}\nquestions:\n"
    assert "bank.yaml:3: pools.p1: no question with id 'zz'" in error_for(tmp_path, q, head)


def test_duplicate_ids_and_missing_tags(tmp_path):
    assert "duplicate question ids: a" in error_for(
        tmp_path,
        """\
      - {id: a, type: truefalse, prompt: p, tags: [t], answer: true}
      - {id: a, type: truefalse, prompt: q, tags: [t], answer: false}
    """,
    )
    assert "questions.0.tags" in error_for(
        tmp_path,
        """\
      - {id: a, type: truefalse, prompt: p, answer: true}
    """,
    )


def test_invalid_yaml_names_the_line(tmp_path):
    assert "bank.yaml:4: invalid YAML" in error_for(
        tmp_path,
        """\
      - id: a
        explain: this: breaks
    """,
    )
