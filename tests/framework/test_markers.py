import pytest

from autograder.nbgrader.export import hints_above
from autograder.release.markers import LINE_LENGTH, MarkerError, assert_clean, strip_solutions

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


CONTINUED = '''
def f(x):
    """Double x."""
    ### BEGIN SOLUTION multiply x by two with the `*` operator, keep the type of x (an int stays an int),
    ### never round it; a float stays a float; a string is repeated, which is fine too, as the spec
    ### says nothing about strings: 'ab' becomes 'abab'
    y = x * 2
    ### a comment of the solution, not of the hint
    return y
    ### END SOLUTION
'''
WHOLE_HINT = (
    "multiply x by two with the `*` operator, keep the type of x (an int stays an int), never round it; "
    "a float stays a float; a string is repeated, which is fine too, as the spec says nothing about "
    "strings: 'ab' becomes 'abab'"
)


def test_a_hint_continued_on_hash_lines_reaches_the_starter_whole_and_wrapped():
    starter = strip_solutions(CONTINUED)
    assert_clean(starter, "starter")
    todo = [ln for ln in starter.splitlines() if ln.startswith("    #")]
    assert todo[0].startswith("    # TODO: multiply x by two") and len(todo) > 1
    assert " ".join(ln.removeprefix("    # TODO:").removeprefix("    #").strip() for ln in todo) == WHOLE_HINT
    assert "solution, not of the hint" not in starter
    assert max(len(ln) for ln in starter.splitlines()) <= LINE_LENGTH
    namespace: dict = {}
    exec(compile(starter, "starter", "exec"), namespace)
    with pytest.raises(NotImplementedError) as raised:
        namespace["f"](1)
    assert str(raised.value) == WHOLE_HINT


def test_the_todo_keeps_the_authors_line_breaks_and_wraps_a_line_too_long():
    assert strip_solutions(CONTINUED).splitlines()[3:6] == [
        "    # TODO: multiply x by two with the `*` operator, keep the type of x (an int stays an int),",
        "    # never round it; a float stays a float; a string is repeated, which is fine too, as the spec",
        "    # says nothing about strings: 'ab' becomes 'abab'",
    ]
    hint = " ".join(f"step{n};" for n in range(40))
    starter = strip_solutions(f"def g():\n    ### BEGIN SOLUTION {hint}\n    pass\n    ### END SOLUTION\n")
    assert max(len(ln) for ln in starter.splitlines()) <= LINE_LENGTH
    assert starter.count("    # ") >= 3
    namespace: dict = {}
    exec(compile(starter, "starter", "exec"), namespace)
    with pytest.raises(NotImplementedError, match=f"^{hint}$"):
        namespace["g"]()


def test_nbgrader_export_puts_the_whole_continued_hint_above_the_region():
    code, regions = hints_above(CONTINUED, "ref.py")
    assert regions == 1
    assert "### never round it" not in code and "### a comment of the solution" in code
    assert "    ### BEGIN SOLUTION\n    y = x * 2\n" in code
    assert max(len(ln) for ln in code.splitlines()) <= LINE_LENGTH
