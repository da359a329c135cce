"""Grade answers against a student's own variant, with feedback that explains every choice.

A response is plain text, as typed in the terminal, a CSV cell or a notebook: a letter (single),
letters (multi, any separators), true/false, a number, a short text, or letters in order
(ordering). `parse_response` turns it into a canonical form or says what is wrong with it.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from autograder.quiz.bank import Code, Multi, Numeric, Ordering, Text
from autograder.quiz.variant import Item, Quiz, Variant
from autograder.yamlconf import ConfigError

GROUPED = re.compile(r"[-+]?\d{1,3}([, _]\d{3})+(\.\d*)?")  # 22,700,000 or 22 700 000 (not 0,5)
TRUE = {"t", "true", "yes", "y", "1"}
MAX_ANSWER_CHARS = 10_000  # one answer: no question needs more
MAX_RESPONSES_BYTES = 64 * 1024**2  # one responses file: a large class's answers, many times over
FALSE = {"f", "false", "no", "n", "0"}
HOW_TO_ANSWER = {
    "single": "one letter",
    "multi": "every letter that applies, e.g. a,c",
    "truefalse": "true or false",
    "numeric": "a number",
    "text": "a short answer",
    "ordering": "all the letters in order, e.g. c,a,b",
}


def how_to_answer(item: Item) -> str:
    return (
        "the exact output"
        if item.kind == "text" and isinstance(item.question, Code)
        else HOW_TO_ANSWER[item.kind]
    )


def parse_response(item: Item, raw: str) -> str:
    """The canonical form of `raw` for `item`; ValueError with a message for the student if unreadable."""
    text = raw.strip()
    if not text:
        raise ValueError("empty answer")
    keys = [c.key for c in item.choices]
    match item.kind:
        case "single":
            key = text.strip("() .").lower()
            if key not in keys:
                raise ValueError(f"answer with one of the letters {', '.join(keys)}")
            return key
        case "multi" | "ordering":
            letters = _letters(text, keys)
            if item.kind == "multi":
                return ",".join(sorted(set(letters)))
            if sorted(letters) != sorted(keys):
                raise ValueError(f"give each of the letters {', '.join(keys)} exactly once, in order")
            return ",".join(letters)
        case "truefalse":
            if text.lower() in TRUE | FALSE:
                return "true" if text.lower() in TRUE else "false"
            raise ValueError("answer true or false (t/f)")
        case "numeric":
            if GROUPED.fullmatch(text):
                text = re.sub(r"[, _]", "", text)
            try:
                return f"{float(text):.15g}"
            except ValueError:
                hint = "; write decimals with a point, e.g. 0.5" if "," in text else ""
                raise ValueError(f"{text!r} is not a number{hint}") from None
    return text


def _letters(text: str, keys: list[str]) -> list[str]:
    if not re.fullmatch(r"[\sa-zA-Z,;()]*", text):
        raise ValueError(f"answer with letters among {', '.join(keys)}")
    letters = re.findall(r"[a-z]", text.lower())
    if unknown := [x for x in letters if x not in keys]:
        raise ValueError(f"there is no choice {', '.join(unknown)}; the letters are {', '.join(keys)}")
    return letters


def key_response(item: Item) -> str:
    """The right answer, as a student would type it."""
    match item.kind:
        case "single" | "multi":
            return ",".join(c.key for c in item.choices if c.correct)
        case "truefalse":
            return "true" if item.answer else "false"
        case "numeric":
            return f"{item.answer:.15g}"
        case "ordering":
            return ",".join(item.answer)
    return str(item.answer[0])


def normalise(text: str, case_sensitive: bool = False) -> str:
    """Spaces collapsed, surrounding quotes/backticks and a final full stop dropped, case folded."""
    text = " ".join(text.split()).strip("`'\" ").removesuffix(".").strip("`'\" ")
    return text if case_sensitive else text.casefold()


def _text_credit(item: Item, answer: str) -> float:
    q = item.question
    if isinstance(q, Code):  # program output: exact, except for spaces
        return float("".join(answer.split()) == "".join(item.answer[0].split()))
    assert isinstance(q, Text)
    if normalise(answer, q.case_sensitive) in {normalise(a, q.case_sensitive) for a in item.answer}:
        return 1.0
    flags = 0 if q.case_sensitive else re.IGNORECASE
    return float(any(re.fullmatch(p, answer.strip(), flags) for p in item.patterns))


def credit(item: Item, answer: str) -> float:
    """The share of the points (0..1) that the canonical `answer` earns."""
    match item.kind:
        case "single":
            return float(answer == key_response(item))
        case "multi":
            picks = set(answer.split(","))
            right = {c.key for c in item.choices if c.correct}
            q = item.question
            if not isinstance(q, Multi) or not q.partial:
                return float(picks == right)
            return max(0.0, (len(picks & right) - q.penalty * len(picks - right)) / len(right))
        case "truefalse":
            return float((answer == "true") == item.answer)
        case "numeric":
            return float(abs(float(answer) - item.answer) <= item.tolerance + 1e-9 * abs(item.answer))
        case "ordering":
            order = answer.split(",")
            if order == item.answer:
                return 1.0
            q = item.question
            if not isinstance(q, Ordering) or not q.partial:
                return 0.0
            pos = {k: i for i, k in enumerate(order)}
            pairs = [(a, b) for i, a in enumerate(item.answer) for b in item.answer[i + 1 :]]
            return sum(pos[a] < pos[b] for a, b in pairs) / len(pairs)
    return _text_credit(item, answer)


def _show_answer(item: Item) -> str:
    match item.kind:
        case "numeric":
            q = item.question
            unit = f" {q.unit}" if isinstance(q, Numeric) and q.unit else ""
            tol = f" (± {item.tolerance:.6g})" if item.tolerance else ""
            return f"The answer is {item.answer:.10g}{unit}{tol}."
        case "truefalse":
            return f"The statement is {'true' if item.answer else 'false'}."
        case "text":
            return "Accepted: " + " | ".join(item.answer)
        case "ordering":
            by_key = {c.key: c.text for c in item.choices}
            return "The right order: " + " → ".join(f"({k}) {by_key[k]}" for k in item.answer)
    return ""


def feedback(item: Item, answer: str | None) -> list[str]:
    """Lines for the student: what each chosen (or missed) choice means, the answer, the explanation."""
    lines = []
    if item.kind in ("single", "multi"):
        picks = set(answer.split(",")) if answer else set()
        for c in item.choices:
            if c.key in picks or c.correct:
                mark = (
                    ("✓ you chose" if c.correct else "✗ you chose")
                    if c.key in picks
                    else "○ the answer includes"
                )
                lines.append(f"{mark} ({c.key}) {c.text}" + (f" — {c.explain}" if c.explain else ""))
    elif answer is None or credit(item, answer) < 1:
        lines.append(_show_answer(item))
    if item.explain:
        lines.append(item.explain.strip())
    return lines


@dataclass
class ItemResult:
    qid: str
    number: int
    points: float
    score: float
    response: str | None  # canonical, or as given when it could not be read
    feedback: list[str]

    @property
    def correct(self) -> bool:
        return self.score >= self.points - 1e-9


def grade_item(item: Item, raw: str | None) -> ItemResult:
    if raw is None or not str(raw).strip():
        return ItemResult(
            item.qid, item.number, item.points, 0.0, None, ["No answer given.", *feedback(item, None)]
        )
    if len(str(raw)) > MAX_ANSWER_CHARS:  # no quiz answer is this long; parsing it would cost the grader
        return ItemResult(
            item.qid,
            item.number,
            item.points,
            0.0,
            None,
            [f"Your answer is longer than {MAX_ANSWER_CHARS:,} characters.", *feedback(item, None)],
        )
    try:
        answer = parse_response(item, str(raw))
    except ValueError as exc:
        return ItemResult(
            item.qid,
            item.number,
            item.points,
            0.0,
            str(raw),
            [f"Your answer could not be read ({exc}).", *feedback(item, None)],
        )
    score = round(credit(item, answer) * item.points, 6)
    return ItemResult(item.qid, item.number, item.points, score, answer, feedback(item, answer))


@dataclass
class QuizGrade:
    """One student's graded quiz: plain data, ready for a CSV, a JSON file or a gradebook."""

    module: str
    student: str
    seed: int
    items: list[ItemResult]
    ignored: list[str] = field(default_factory=list)  # answered question ids not in this student's variant

    @property
    def score(self) -> float:
        return round(sum(r.score for r in self.items), 6)

    @property
    def max_score(self) -> float:
        return sum(r.points for r in self.items)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "score": self.score, "max_score": self.max_score}


def grade_variant(variant: Variant, answers: dict[str, str]) -> QuizGrade:
    items = [grade_item(item, answers.get(item.qid)) for item in variant.items]
    asked = {i.qid for i in variant.items}
    return QuizGrade(variant.module, variant.student, variant.seed, items, sorted(set(answers) - asked))


@dataclass
class Response:
    student: str
    answers: dict[str, str]


def read_responses(path: Path) -> list[Response]:
    """A CSV (a `student` column, one column per question id) or JSON (one {"student", "answers"}
    object, as `course quiz take` saves, or a list of them). At most MAX_RESPONSES_BYTES."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read responses: {exc}") from None
    if size > MAX_RESPONSES_BYTES:
        raise ConfigError(f"{path}: {size:,} bytes of responses; at most {MAX_RESPONSES_BYTES:,} are read")
    if path.suffix.lower() == ".csv":
        try:
            with open(path, newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
        except (csv.Error, UnicodeDecodeError) as exc:  # csv refuses a field past 128 KiB
            raise ConfigError(f"{path}: cannot read responses: {exc}") from None
        if rows and "student" not in rows[0]:
            raise ConfigError(f"{path}: needs a `student` column (found: {', '.join(rows[0])})")
        if missing := [str(i) for i, r in enumerate(rows, start=2) if not (r["student"] or "").strip()]:
            raise ConfigError(f"{path}: line {', '.join(missing)}: no student id")
        return [
            Response(r.pop("student").strip(), {k: v for k, v in r.items() if k and v and v.strip()})
            for r in rows
        ]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read responses: {exc}") from None
    entries: list[Any] = data if isinstance(data, list) else [data]
    for i, row in enumerate(entries):
        if not (
            isinstance(row, dict)
            and isinstance(row.get("student"), str)
            and isinstance(row.get("answers"), dict)
        ):
            raise ConfigError(f'{path}: entry {i} must look like {{"student": "id", "answers": {{...}}}}')
    return [
        Response(r["student"], {k: str(v) for k, v in r["answers"].items() if v is not None}) for r in entries
    ]


def grade_responses(quiz: Quiz, responses: list[Response]) -> list[QuizGrade]:
    return [grade_variant(quiz.variant(r.student), r.answers) for r in responses]


def write_grades_csv(grades: list[QuizGrade], question_ids: list[str], path: Path) -> None:
    """One row per student: total, percent, then the score of each question (blank if not asked)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["student", "seed", "score", "max_score", "percent", *question_ids])
        for g in grades:
            by_id = {r.qid: r.score for r in g.items}
            percent = 100 * g.score / g.max_score if g.max_score else 0.0
            out.writerow(
                [
                    g.student,
                    g.seed,
                    f"{g.score:g}",
                    f"{g.max_score:g}",
                    f"{percent:.1f}",
                    *(f"{by_id[q]:g}" if q in by_id else "" for q in question_ids),
                ]
            )


def safe_name(student: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", student) or "_"


def write_feedback(grades: list[QuizGrade], folder: Path) -> None:
    """One JSON file per student with every question's score and feedback."""
    folder.mkdir(parents=True, exist_ok=True)
    for g in grades:
        (folder / f"{safe_name(g.student)}.json").write_text(
            json.dumps(g.to_json(), indent=2, ensure_ascii=False)
        )
