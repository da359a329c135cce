"""Public checks: students run them with `course check m01-words`; they are not graded."""

from autograder.api import points


@points(1)
def test_counts_a_short_text(student):
    """word_counts() counts the words of a short text."""
    got = student.call("word_counts", "a b a")
    assert got == {"a": 2, "b": 1}, f"word_counts('a b a') returned {got!r}, expected {'a': 2, 'b': 1}"
