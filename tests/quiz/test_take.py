"""The terminal quiz, driven by scripted input: answers are saved at once, quitting resumes later."""

import io
import json

from rich.console import Console

from autograder.quiz.grading import key_response
from autograder.quiz.take import Session, take


class Script:
    """Feeds prepared lines to the quiz, then behaves like a closed terminal (EOFError)."""

    def __init__(self, lines):
        self.lines = list(lines)
        self.prompts = []

    def __call__(self, prompt):
        self.prompts.append(prompt)
        if not self.lines:
            raise EOFError
        return self.lines.pop(0)


def run(quiz, student, path, lines, feedback=True):
    out = io.StringIO()
    console = Console(file=out, width=100, color_system=None)
    grade = take(quiz.variant(student), Session.open(path, "q1", student), console, Script(lines), feedback)
    return grade, out.getvalue()


def test_quit_midway_saves_then_resume_continues_where_it_stopped(quiz, tmp_path):
    variant = quiz.variant("carol")
    path = tmp_path / "carol.json"
    first = [key_response(i) for i in variant.items[:3]]
    grade, _ = run(quiz, "carol", path, [*first, ":q"])
    assert grade is None
    saved = json.loads(path.read_text())
    assert list(saved["answers"]) == [i.qid for i in variant.items[:3]] and not saved["submitted"]

    rest = [key_response(i) for i in variant.items[3:]]
    grade, screen = run(quiz, "carol", path, [*rest, "y"])
    assert "Resuming: 3 answered." in screen
    assert grade is not None and grade.score == grade.max_score == variant.max_score
    assert json.loads(path.read_text())["submitted"] is True


def test_invalid_input_is_explained_and_asked_again(quiz, tmp_path):
    variant = quiz.variant("dan")
    first = variant.items[0]
    _, screen = run(quiz, "dan", tmp_path / "d.json", ["zz", key_response(first), ":q"])
    assert "answer with one of the letters a, b, c, d" in screen
    assert screen.count("Question 1 of") == 1  # asked again without redrawing the question
    assert json.loads((tmp_path / "d.json").read_text())["answers"] == {first.qid: key_response(first)}


def test_back_skip_goto_and_unanswered_reminder(quiz, tmp_path):
    variant = quiz.variant("erin")
    n = len(variant.items)
    last = variant.items[-1]
    lines = [":n", ":b", ":g " + str(n), key_response(last), "n", ":q"]
    _, screen = run(quiz, "erin", tmp_path / "e.json", lines)
    assert f"{n - 1} unanswered" in screen
    assert json.loads((tmp_path / "e.json").read_text())["answers"] == {last.qid: key_response(last)}


def test_submitted_quiz_shows_feedback_and_saved_file_grades_the_same(quiz, tmp_path):
    from autograder.quiz.grading import grade_responses, read_responses

    variant = quiz.variant("fay")
    answers = ["" if i.qid == "tf" else key_response(i) for i in variant.items]  # Enter skips
    grade, screen = run(quiz, "fay", tmp_path / "f.json", [*answers, "y"])
    assert grade.score == variant.max_score - 1
    assert "BERT is encoder-only." in screen  # the explanation of the unanswered question
    again = grade_responses(quiz, read_responses(tmp_path / "f.json"))[0]
    assert again.score == grade.score
    _, screen = run(quiz, "fay", tmp_path / "f.json", [])
    assert "already submitted" in screen


def test_a_save_file_of_someone_else_is_refused(quiz, tmp_path):
    import pytest

    from autograder.yamlconf import ConfigError

    run(quiz, "gus", tmp_path / "g.json", [key_response(quiz.variant("gus").items[0]), ":q"])
    with pytest.raises(ConfigError, match="holds answers of 'gus'"):
        Session.open(tmp_path / "g.json", "q1", "hal")
