"""The answer-expression language: computes what banks need, refuses everything else."""

import pytest

from autograder.quiz.expr import ExprError, evaluate, names


def test_linear_layer_and_padded_batch_answers():
    assert evaluate("d_in * d_out + d_out", {"d_in": 384, "d_out": 2}) == 770
    assert evaluate("(n, max(lengths))", {"n": 3, "lengths": [4, 9, 2]}) == (3, 9)
    assert evaluate("ceil(tokens / 512) if tokens > 512 else 1", {"tokens": 1300}) == 3
    assert evaluate("lengths[-1] + lengths[0:2][1]", {"lengths": [4, 9, 2]}) == 11


def test_names_lists_variables_not_functions():
    assert names("max(a, b) * c + len(xs)") == {"a", "b", "c", "xs"}


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('echo hi')",
        "x.__class__",
        "(lambda: 1)()",
        "[i for i in range(3)]",
        "open('/etc/passwd')",
        "max(a, key=abs)",
    ],
)
def test_rejects_anything_outside_the_language(text):
    with pytest.raises(ExprError):
        evaluate(text, {"x": 1, "a": [1]})


def test_bounds_huge_powers_and_sequences():
    with pytest.raises(ExprError, match="exponent"):
        evaluate("9 ** 99999", {})
    with pytest.raises(ExprError, match="sequence"):
        evaluate("'ab' * 10**6", {})


def test_unknown_names_and_runtime_errors_name_the_expression():
    with pytest.raises(ExprError, match="unknown name 'd_out'"):
        evaluate("d_in * d_out", {"d_in": 2})
    with pytest.raises(ExprError, match="ZeroDivisionError"):
        evaluate("1 / n", {"n": 0})
