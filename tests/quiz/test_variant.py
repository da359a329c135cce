"""Variants: the same student always gets the same quiz; students differ; pools, shuffles, params."""

from collections import Counter

from autograder.quiz.render import to_markdown
from autograder.quiz.variant import load_quiz, variant_seed


def test_same_student_same_variant_even_after_a_reload(quiz, demo):
    again = load_quiz(demo, "q1")
    assert to_markdown(quiz.variant("alice"), key=True) == to_markdown(again.variant("alice"), key=True)


def test_different_students_get_different_variants(quiz):
    texts = {to_markdown(quiz.variant(f"s{i}")) for i in range(10)}
    assert len(texts) == 10


def test_seed_depends_on_course_quiz_salt_and_student():
    base = variant_seed("c", "q1", "alice")
    assert base == variant_seed("c", "q1", "alice")
    assert (
        len(
            {
                base,
                variant_seed("c2", "q1", "alice"),
                variant_seed("c", "q2", "alice"),
                variant_seed("c", "q1", "alice", salt="retake"),
                variant_seed("c", "q1", "bob"),
            }
        )
        == 5
    )


def test_a_pool_asks_exactly_k_of_n_and_uses_every_member(quiz):
    pooled = Counter(
        i.qid for s in range(60) for i in quiz.variant(f"s{s}").items if i.qid.startswith("pool-")
    )
    assert sum(pooled.values()) == 60 and set(pooled) == {"pool-a", "pool-b", "pool-c"}


def test_all_of_the_above_stays_last_while_the_others_shuffle(quiz):
    orders = set()
    for s in range(30):
        item = quiz.variant(f"s{s}").item("single")
        assert item.choices[-1].text == "All of the above"
        assert [c.key for c in item.choices] == ["a", "b", "c", "d"]
        orders.add(tuple(c.text for c in item.choices))
    assert len(orders) > 1


def test_shuffle_false_keeps_bank_order(quiz):
    assert [c.text for c in quiz.variant("x").item("strict-multi").choices] == ["2", "3", "4"]


def test_parameters_are_drawn_and_the_answer_computed_from_them(quiz):
    answers = set()
    for s in range(20):
        item = quiz.variant(f"s{s}").item("linear-params")
        d_in, d_out = item.values["d_in"], item.values["d_out"]
        assert d_in % 16 == 0 and 16 <= d_in <= 512 and d_out in (2, 3, 10)
        assert item.answer == d_in * d_out + d_out
        assert f"nn.Linear({d_in}, {d_out})" in item.prompt
        answers.add(item.answer)
    assert len(answers) > 5


def test_ordering_is_never_shown_in_the_right_order(quiz):
    for s in range(30):
        item = quiz.variant(f"s{s}").item("order")
        assert item.answer != [c.key for c in item.choices]


def test_code_answers_are_what_the_snippets_print(quiz):
    assert quiz.outputs == {"code": "[1, 2, 3]", "code-choice": "6"}
    item = quiz.variant("a").item("code-choice")
    assert item.kind == "single" and [c.text for c in item.choices if c.correct] == ["6"]
    assert "print(sorted({3, 1, 2}))" in quiz.variant("a").item("code").prompt
