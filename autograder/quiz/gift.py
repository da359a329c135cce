"""Moodle GIFT: export a bank, and parse GIFT back (to prove the export round-trips).

Each pool becomes a `$CATEGORY`, so a Moodle quiz can draw "random questions" from it as our
variants do. Prompts are exported as `[markdown]`. Per-choice explanations become answer
feedback (`#...`) and the question's explanation the general feedback (`####...`). Moodle has no
ordering type: an ordering question becomes a matching question (item -> position), and text
regexes cannot be exported (the accepted answers are).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from autograder.quiz.bank import Multi, Text
from autograder.quiz.variant import Item, Quiz

SPECIAL = "\\~=#{}:"
_PROTECT = {c: chr(0xE000 + i) for i, c in enumerate(SPECIAL)}  # escaped characters, hidden while splitting
_RESTORE = {v: k for k, v in _PROTECT.items()}


def escape(text: str) -> str:
    return "".join("\\" + c if c in SPECIAL else c for c in text.strip()).replace("\n", "\\n")


def _weight(percent: float) -> str:
    return f"%{f'{percent:.5f}'.rstrip('0').rstrip('.')}%"


def _fb(text: str) -> str:
    return f"#{escape(text)}" if text else ""


def _answers(item: Item) -> list[str]:
    match item.kind:
        case "single":
            return [f"{'=' if c.correct else '~'}{escape(c.text)}{_fb(c.explain)}" for c in item.choices]
        case "multi":
            q = item.question
            right = sum(c.correct for c in item.choices)
            wrong = -100 * (q.penalty if isinstance(q, Multi) and q.partial else 1) / right
            return [
                f"~{_weight(100 / right if c.correct else wrong) if c.correct or wrong else ''}"
                f"{escape(c.text)}{_fb(c.explain)}"
                for c in item.choices
            ]
        case "truefalse":
            return [f"{'TRUE' if item.answer else 'FALSE'}"]
        case "numeric":
            return [f"#{item.answer:.15g}:{item.tolerance:.15g}"]
        case "ordering":
            by_key = {c.key: c.text for c in item.choices}
            return [f"={escape(by_key[k])} -> {pos}" for pos, k in enumerate(item.answer, start=1)]
    return [f"={escape(a)}" for a in item.answer]


def question_text(item: Item) -> str:
    q = item.question
    lines = [f"// {q.id}: {q.type}, points {item.points:g}, {q.difficulty}, tags: {', '.join(q.tags)}"]
    if isinstance(q, Text) and q.regex:
        lines.append("// regex answers are not exported: " + " | ".join(q.regex).replace("\n", " "))
    general = f"####{escape(item.explain)}" if item.explain else ""
    body = "\n".join(["{", *_answers(item), *([general] if general else []), "}"])
    lines.append(f"::{escape(_title(item))}::[markdown]{escape(item.prompt)}{body}")
    return "\n".join(lines)


def _title(item: Item) -> str:
    """Unique in an export: parameterised copies are numbered."""
    return f"{item.qid}-{item.number}" if item.question.templated else item.qid


def export_gift(quiz: Quiz, instances: int = 1) -> str:
    base = f"$course$/{quiz.course_id}/{quiz.module}"
    blocks = [f"// {quiz.bank.quiz.title}: exported from quizzes/{quiz.module}.yaml by `course quiz export`"]
    for group in quiz.groups(instances):
        pick = f" (a Moodle quiz should draw {group.pick} at random)" if group.pool else ""
        blocks.append(
            f"// {group.pool or 'always asked'}{pick}\n$CATEGORY: {base}"
            + (f"/{group.pool}" if group.pool else "")
        )
        blocks.extend(question_text(item) for item in group.items)
    return "\n\n".join(blocks) + "\n"


@dataclass
class GiftAnswer:
    text: str
    weight: float  # percent of the points
    feedback: str = ""
    match: str | None = None  # matching questions: the right-hand side


@dataclass
class GiftQuestion:
    category: str
    title: str
    text: str
    kind: str  # multichoice, truefalse, numerical, shortanswer, matching
    format: str = "moodle"
    answers: list[GiftAnswer] = field(default_factory=list)
    general_feedback: str = ""
    truth: bool | None = None
    number: tuple[float, float] | None = None  # (answer, tolerance)


def _protect(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append("\n" if nxt == "n" else _PROTECT.get(nxt, "\\" + nxt))
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _restore(text: str) -> str:
    return "".join(_RESTORE.get(c, c) for c in text).strip()


def parse_gift(text: str) -> list[GiftQuestion]:
    """Parse the GIFT this module writes (and the common core of the format): categories, titles,
    formats, multiple choice with weights and feedback, true/false, numerical, short answer, matching."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("//")]
    category, questions = "", []
    for block in "\n".join(lines).split("\n\n"):
        block = block.strip()
        if not block:
            continue
        if block.startswith("$CATEGORY:"):
            category = block.removeprefix("$CATEGORY:").strip()
            continue
        questions.append(_parse_question(_protect(block), category))
    return questions


def _parse_question(block: str, category: str) -> GiftQuestion:
    title = ""
    if block.startswith("::"):
        title, _, block = block[2:].partition("::")
    fmt = "moodle"
    if block.startswith("["):
        fmt, _, block = block[1:].partition("]")
    if "{" not in block or "}" not in block:
        raise ValueError(f"GIFT question {_restore(title)!r} has no answer block")
    stem, _, rest = block.partition("{")
    body, _, _ = rest.rpartition("}")
    body, _, general = body.partition("####")
    q = GiftQuestion(category, _restore(title), _restore(stem), "", fmt, general_feedback=_restore(general))
    body = body.strip()
    if body.upper().split("#")[0].strip() in ("T", "F", "TRUE", "FALSE"):
        q.kind, q.truth = "truefalse", body.upper().startswith("T")
    elif body.startswith("#"):
        value, _, tol = body[1:].split("#")[0].partition(":")
        q.kind, q.number = "numerical", (float(_restore(value)), float(_restore(tol) or 0))
    else:
        q.answers = [_parse_answer(token) for token in _split_answers(body)]
        q.kind = (
            "matching"
            if any(a.match is not None for a in q.answers)
            else "shortanswer"
            if all(t.lstrip().startswith("=") for t in _split_answers(body))
            else "multichoice"
        )
    return q


def _split_answers(body: str) -> list[str]:
    tokens: list[str] = []
    for c in body:
        if c in "=~":
            tokens.append(c)
        elif tokens:
            tokens[-1] += c
    return tokens


def _parse_answer(token: str) -> GiftAnswer:
    marker, rest = token[0], token[1:].strip()
    weight = 100.0 if marker == "=" else 0.0
    if rest.startswith("%"):
        w, _, rest = rest[1:].partition("%")
        weight = float(w)
    rest, _, fb = rest.partition("#")
    left, arrow, right = rest.partition("->")
    return GiftAnswer(
        _restore(left if arrow else rest), weight, _restore(fb), _restore(right) if arrow else None
    )
