"""`course quiz ...` end to end on the demo course, as an instructor and a student would run it."""

import csv
import io
import json
import os
import zipfile

import nbformat
from typer.testing import CliRunner

from autograder.cli import app
from autograder.quiz.grading import key_response

runner = CliRunner()


def invoke(*args, input=None):
    result = runner.invoke(app, ["quiz", *args], input=input)
    assert result.exit_code == 0, result.output
    return result.output


def flat(output: str) -> str:
    """The output's words on one line: rich wraps messages at 80 columns, where a long tmp path
    moves the break."""
    return " ".join(output.split())


def test_render_every_format_for_a_student(quiz, tmp_path):
    variant = quiz.variant("s1")
    md = invoke("render", "q1", "--student", "s1")
    assert f"variant {variant.seed}" in md and variant.items[0].prompt in md and "Answer:" not in md
    key = invoke("render", "q1", "-s", "s1", "--key")
    assert "Answer:" in key
    # the variant number printed on the copy regenerates it, whoever asks
    assert invoke("render", "q1", "-s", "s1", "--key", "--seed", str(variant.seed)) == key
    assert invoke("render", "q1", "-s", "s1", "--key", "--seed", str(variant.seed + 1)) != key
    invoke("render", "q1", "-s", "s1", "-f", "ipynb", "-o", str(tmp_path / "q.ipynb"))
    nb = nbformat.read(tmp_path / "q.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.cells[-1].source.startswith("import json")
    invoke("render", "q1", "-s", "s1", "-f", "html", "-o", str(tmp_path / "q.html"))
    assert "<h1>Demo quiz</h1>" in (tmp_path / "q.html").read_text()


def test_notebook_answers_file_is_what_grade_reads(quiz, tmp_path):
    """Run the rendered answer-key notebook's code cells; the file it writes grades full marks."""
    invoke("render", "q1", "-s", "nb", "-f", "ipynb", "--key", "-o", str(tmp_path / "k.ipynb"))
    cells = nbformat.read(tmp_path / "k.ipynb", as_version=4).cells
    code = "\n".join(c.source for c in cells if c.cell_type == "code")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(code, "k.ipynb", "exec"), {})  # our own rendered notebook, not student code
    finally:
        os.chdir(cwd)
    invoke("grade", "q1", str(tmp_path / "responses-q1-nb.json"), "-o", str(tmp_path / "out"))
    with open(tmp_path / "out" / "grades.csv", newline="") as fh:
        row = next(csv.DictReader(fh))
    assert row["percent"] == "100.0"


def test_take_then_grade_then_analyze(quiz, tmp_path):
    variant = quiz.variant("stu")
    answers = "\n".join(key_response(i) for i in variant.items) + "\ny\n"
    save = tmp_path / "stu.json"
    out = invoke("take", "q1", "--student", "stu", "--save", str(save), input=answers)
    assert f"stu: {variant.max_score:g} / {variant.max_score:g}" in flat(out)
    responses = [json.loads(save.read_text())] + [
        {"student": f"x{i}", "answers": {it.qid: key_response(it) for it in quiz.variant(f"x{i}").items[:i]}}
        for i in range(8)
    ]
    (tmp_path / "all.json").write_text(json.dumps(responses))
    invoke("grade", "q1", str(tmp_path / "all.json"), "-o", str(tmp_path / "res"))
    assert len((tmp_path / "res" / "grades.csv").read_text().splitlines()) == 10
    assert {p.name for p in (tmp_path / "res" / "feedback").iterdir()} >= {"stu.json", "x0.json"}
    out = invoke("analyze", "q1", str(tmp_path / "all.json"), "--html", str(tmp_path / "report.html"))
    assert "9 students" in flat(out) and "data:image/png" in (tmp_path / "report.html").read_text()


def test_export_gift_and_qti(demo, tmp_path):
    invoke("export", "q1", "-f", "gift", "-o", str(tmp_path / "q.gift"))
    assert "$CATEGORY: $course$/demo-course/q1" in (tmp_path / "q.gift").read_text()
    invoke("export", "q1", "-f", "qti", "-o", str(tmp_path / "q.zip"), "--instances", "2")
    assert sorted(zipfile.ZipFile(io.BytesIO((tmp_path / "q.zip").read_bytes())).namelist()) == [
        "demo-course-q1/demo-course-q1.xml",
        "imsmanifest.xml",
    ]


def test_errors_are_one_line_for_the_instructor(demo):
    (demo.root / "quizzes" / "q1.yaml").write_text("quiz: {title: T}\nquestions: []\n")
    result = runner.invoke(app, ["quiz", "render", "q1", "-s", "a"])
    assert result.exit_code == 2 and "questions: List should have at least 1 item" in flat(result.output)
    result = runner.invoke(app, ["quiz", "render", "nope", "-s", "a"])
    assert result.exit_code == 2 and "no such quiz bank" in flat(result.output)


def test_grades_go_into_the_gradebook_once(quiz, tmp_path):
    from autograder.gradebook import Gradebook

    rows = [
        {"student": s, "answers": {i.qid: key_response(i) for i in quiz.variant(s).items[:k]}}
        for s, k in (("ann", 13), ("ben", 4))
    ]
    (tmp_path / "r.json").write_text(json.dumps(rows))
    book = tmp_path / "gradebook.sqlite"
    args = ("grade", "q1", str(tmp_path / "r.json"), "-o", str(tmp_path / "out"), "--gradebook", str(book))
    assert "2 recorded as q1-quiz, 0 unchanged" in flat(invoke(*args))
    assert "0 recorded as q1-quiz, 2 unchanged" in flat(invoke(*args))
    with Gradebook(book) as gb:
        latest = {r.student: r for r in gb.latest("q1-quiz")}
    assert latest["ann"].final_score == latest["ann"].max_score == quiz.variant("ann").max_score
    assert 0 < latest["ben"].final_score < latest["ben"].max_score
    tests = latest["ben"].results["tests"]
    assert [t["name"] for t in tests] == [i.qid for i in quiz.variant("ben").items]
    assert any(t["status"] == "failed" and "No answer given." in t["output"] for t in tests)
