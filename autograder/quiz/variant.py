"""Per-student variants: which questions, in which order, with which numbers and choice order.

Everything is drawn from one seed made of (course id, quiz id, salt, student id), so the same
student always gets the same quiz, an instructor can regenerate it exactly, and a different
student gets a different one. Each question draws from its own generator seeded by the variant
seed and its id, so adding a question to a bank does not reshuffle the others.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.layout import Layout
from autograder.quiz import expr
from autograder.quiz.bank import (
    TEMPLATES,
    AnyQuestion,
    Bank,
    Choice,
    Code,
    IntRange,
    Multi,
    Numeric,
    Ordering,
    Single,
    Text,
    TrueFalse,
    load_bank,
)
from autograder.quiz.codeq import CodeRunner, asset_variable
from autograder.yamlconf import ConfigError

KEYS = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class ItemChoice:
    key: str  # the letter the student sees and answers with
    text: str
    correct: bool
    explain: str


@dataclass
class Item:
    """One concrete question as one student sees it. `kind` is how it is answered and graded:
    single, multi, truefalse, numeric, text or ordering (a code question is single or text)."""

    number: int
    question: AnyQuestion
    kind: str
    prompt: str
    explain: str
    choices: list[ItemChoice] = field(default_factory=list)  # choices, or ordering items as displayed
    answer: Any = None  # truefalse: bool; numeric: float; text: accepted strings; ordering: keys in order
    tolerance: float = 0.0  # numeric: the absolute tolerance for this variant's answer
    patterns: list[str] = field(default_factory=list)  # text: this variant's accepted regexes
    values: dict[str, object] = field(default_factory=dict)  # the drawn params and computed names

    @property
    def qid(self) -> str:
        return self.question.id

    @property
    def points(self) -> float:
        return self.question.points


@dataclass
class Variant:
    module: str
    student: str
    seed: int
    title: str
    intro: str
    items: list[Item]

    @property
    def max_score(self) -> float:
        return sum(i.points for i in self.items)

    def item(self, qid: str) -> Item:
        return next(i for i in self.items if i.qid == qid)


def variant_seed(course_id: str, quiz_id: str, student: str, salt: str = "") -> int:
    digest = hashlib.sha256("\0".join((course_id, quiz_id, salt, student)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def draw_values(q: AnyQuestion, rng: random.Random) -> dict[str, object]:
    values: dict[str, object] = {}
    for name, spec in q.params.items():
        values[name] = (
            rng.randrange(spec.min, spec.max + 1, spec.step)
            if isinstance(spec, IntRange)
            else rng.choice(spec.choices)
        )
    for name, text in q.compute.items():
        values[name] = expr.evaluate(text, values)
    return values


def _fill(text: str, values: dict[str, object]) -> str:
    return TEMPLATES.from_string(text).render(values) if values else text


def _lettered(
    choices: list[Choice], values: dict[str, object], rng: random.Random | None
) -> list[ItemChoice]:
    """Shuffle (when rng is given) all but the pinned choices, which stay last in bank order."""
    free = [c for c in choices if not c.pinned]
    if rng is not None:
        rng.shuffle(free)
    ordered = free + [c for c in choices if c.pinned]
    return [
        ItemChoice(KEYS[i], _fill(c.text, values), c.correct, _fill(c.explain, values))
        for i, c in enumerate(ordered)
    ]


def make_item(
    q: AnyQuestion, number: int, rng: random.Random, outputs: dict[str, str], shuffle: bool = True
) -> Item:
    """Build question `q` for one student. `outputs` holds the computed output of code questions."""
    values = draw_values(q, rng)
    item = Item(number, q, q.type, _fill(q.prompt, values), _fill(q.explain, values), values=values)
    match q:
        case Single() | Multi():
            item.choices = _lettered(q.choices, values, rng if shuffle and q.shuffle else None)
        case TrueFalse():
            item.answer = q.answer
        case Numeric():
            value = expr.evaluate(q.answer, values) if isinstance(q.answer, str) else q.answer
            if not isinstance(value, int | float | str):
                raise ConfigError(f"numeric question {q.id!r}: the answer is {value!r}, not a number")
            item.answer = float(value)
            item.tolerance = max(q.abs_tol, q.rel_tol * abs(item.answer))
        case Text():
            item.answer = [_fill(a, values) for a in q.accept]
            item.patterns = [_fill(p, values) for p in q.regex]
        case Ordering():
            items = [_fill(t, values) for t in q.items]
            shown = list(range(len(items)))
            while shuffle and shown == sorted(shown):  # never show the answer as the starting order
                rng.shuffle(shown)
            item.choices = [ItemChoice(KEYS[k], items[i], False, "") for k, i in enumerate(shown)]
            item.answer = [KEYS[shown.index(i)] for i in range(len(items))]
        case Code():
            given = "".join(
                f"\n`{asset_variable(a)}` is the folder of the course's `{a}` model." for a in q.assets
            )
            item.prompt = f"{item.prompt}\n\n```python\n{q.code.rstrip()}\n```{given}"
            output = outputs[q.id]
            if any(d.text.strip() == output.strip() for d in q.distractors):
                raise ConfigError(f"code question {q.id!r}: a distractor equals what the snippet prints")
            if q.distractors:
                item.kind = "single"
                right = Choice(text=output, correct=True, explain="This is what the snippet prints.")
                item.choices = _lettered([right, *q.distractors], {}, rng if shuffle else None)
            else:
                item.kind = "text"
                item.answer = [output]
    return item


@dataclass
class Quiz:
    """A bank ready to hand out: its code answers computed, its variants a function of the student."""

    course_id: str
    module: str
    bank: Bank
    outputs: dict[str, str]

    def seed(self, student: str) -> int:
        return variant_seed(self.course_id, self.module, student, self.bank.quiz.salt)

    def variant(self, student: str, seed: int | None = None) -> Variant:
        """`student`'s variant; with `seed` (as printed on every copy), the variant of that seed."""
        seed = self.seed(student) if seed is None else seed
        rng = random.Random(seed)
        chosen = {qid for pool in self.bank.pools.values() for qid in rng.sample(pool.questions, pool.pick)}
        asked = [q for q in self.bank.questions if self.bank.pool_of(q.id) is None or q.id in chosen]
        if self.bank.quiz.shuffle_questions:
            rng.shuffle(asked)
        items = [
            make_item(q, n, random.Random(f"{seed}:{q.id}"), self.outputs)
            for n, q in enumerate(asked, start=1)
        ]
        return Variant(self.module, student, seed, self.bank.quiz.title, self.bank.quiz.intro, items)

    def groups(self, instances: int = 1) -> list[Group]:
        """Every question as an LMS sees it: unshuffled (the LMS shuffles), grouped by pool. Questions
        in no pool form the first group. A parameterised question becomes `instances` drawn copies:
        in a group of its own (pick 1) when it is in no pool, else in its pool."""
        groups = [Group(None, 0, [])] + [Group(name, pool.pick, []) for name, pool in self.bank.pools.items()]
        by_name = {g.pool: g for g in groups}
        for q in self.bank.questions:
            group = by_name[self.bank.pool_of(q.id)]
            if q.templated and instances > 1 and group.pool is None:
                group = by_name[q.id] = Group(q.id, 1, [])
                groups.append(group)
            for k in range(instances if q.templated else 1):
                group.items.append(
                    make_item(q, k + 1, random.Random(f"export:{q.id}:{k}"), self.outputs, shuffle=False)
                )
        for g in groups:
            if g.pool is None:
                g.pick = len(g.items)
        return [g for g in groups if g.items]


@dataclass
class Group:
    """Questions an LMS draws `pick` of. An item's `number` here is its copy number (1 unless
    parameterised)."""

    pool: str | None
    pick: int
    items: list[Item]


def load_quiz(layout: Layout, module: str, bank_path: Path | None = None) -> Quiz:
    """Load `quizzes/<module>.yaml` (or `bank_path`) and compute its code answers (cached)."""
    bank = load_bank(bank_path or layout.quiz_file(module))
    code = [q for q in bank.questions if isinstance(q, Code)]
    outputs = CodeRunner.for_layout(layout).outputs(code) if code else {}
    return Quiz(layout.course.course.id, module, bank, outputs)
