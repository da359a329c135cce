import pytest

from autograder.release.markers import MarkerError, assert_clean, strip_solutions

REFERENCE = '''
def f(x):
    """Double x."""
    ### BEGIN SOLUTION multiply x by two
    y = x * 2
    return y
    ### END SOLUTION


class C:
    def g(self):
        ### BEGIN SOLUTION
        return 1
        ### END SOLUTION

### BEGIN HIDDEN
SECRET = 42
### END HIDDEN
LR = 3e-4  # SOLUTION pick a learning rate
'''


def test_solution_becomes_todo_and_raise_at_the_same_indent():
    starter = strip_solutions(REFERENCE)
    assert "    # TODO: multiply x by two\n    raise NotImplementedError('multiply x by two')" in starter
    assert "        # TODO: write this part" in starter
    assert "        raise NotImplementedError(" in starter
    assert "x * 2" not in starter and "return 1" not in starter
    assert_clean(starter, "starter")


def test_hidden_regions_vanish_and_inline_solutions_become_ellipsis():
    starter = strip_solutions(REFERENCE)
    assert "SECRET" not in starter
    assert "LR = ...  # TODO: pick a learning rate" in starter
    assert "3e-4" not in starter


def test_starter_still_defines_every_function():
    namespace: dict = {}
    exec(compile(strip_solutions(REFERENCE), "starter", "exec"), namespace)
    with pytest.raises(NotImplementedError):
        namespace["f"](1)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("### BEGIN SOLUTION\nx = 1\n", "ref.py:1: BEGIN SOLUTION is never closed"),
        ("x = 1\n### END SOLUTION\n", "ref.py:2: END SOLUTION without a matching BEGIN"),
        (
            "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n### END SOLUTION\n",
            "ref.py:2: BEGIN SOLUTION inside",
        ),
        ("### BEGIN SOLUTION\nx = 1\n### END HIDDEN\n", "ref.py:3: END HIDDEN closes the solution region"),
    ],
)
def test_malformed_markers_are_refused_with_file_and_line(source, message):
    with pytest.raises(MarkerError, match=message):
        strip_solutions(source, "ref.py")


def test_a_marker_left_in_the_output_is_refused():
    with pytest.raises(MarkerError, match="marker is left"):
        assert_clean("x = 1\n# ### BEGIN SOLUTION\n", "starter.py")


def test_a_starter_that_does_not_parse_is_refused():
    with pytest.raises(MarkerError, match="not valid Python"):
        assert_clean("def f(:\n", "starter.py")


def test_a_formatter_wrapped_inline_solution_is_stripped():
    """ruff format wraps a long `x = value  # SOLUTION hint` into parentheses: still a starter."""
    starter = strip_solutions("EPOCHS = (\n    2  # SOLUTION two passes over the data\n)\n")
    assert starter == "EPOCHS = (\n    ...  # TODO: two passes over the data\n)\n"
    assert_clean(starter, "x.py")
