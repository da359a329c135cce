"""Hidden graders of m01-words: students see each docstring as the test's name and each assertion
message as its feedback, never this file."""

from autograder.api import points

TEXTS = [
    "the cat and the hat",
    "One fish, two fish. Red fish, blue fish!",
    "  spaces   everywhere \n and\ttabs  ",
    "",
]


@points(2)
def test_counts_words(student, reference):
    """word_counts() counts every word of a text."""
    for text in TEXTS:
        got, want = student.call("word_counts", text), reference.call("word_counts", text)
        assert got == want, f"word_counts({text!r}) returned {got!r}, expected {want!r}"


@points(1)
def test_ignores_case_and_punctuation(student):
    """word_counts() lowercases and strips punctuation."""
    got = student.call("word_counts", "Hello, hello! HELLO?")
    assert got == {"hello": 3}, f"'Hello, hello! HELLO?' has one word three times, got {got!r}"


@points(2)
def test_top_words_most_frequent_first(student):
    """top_words() lists the most frequent words first."""
    got = student.call("top_words", "b a b c b a", 2)
    assert got == ["b", "a"], f"top_words('b a b c b a', 2) returned {got!r}, expected ['b', 'a']"


@points(1)
def test_top_words_breaks_ties_alphabetically(student):
    """top_words() orders equally frequent words alphabetically."""
    got = student.call("top_words", "pear apple fig", 3)
    assert got == ["apple", "fig", "pear"], f"three words once each come alphabetically, got {got!r}"
