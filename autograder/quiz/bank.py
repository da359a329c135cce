"""Question banks: `quizzes/<module>.yaml` as typed models, loaded with file:line errors.

A bank holds questions of seven types. Every question has points, tags (the learning objectives it
tests) and a difficulty. Questions with `params` are templates: numbers are drawn per student, the
prompt is a jinja2 template over them, and the answer is a safe expression (see expr.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import jinja2
import jinja2.meta
import jinja2.sandbox
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from autograder.quiz import expr
from autograder.yamlconf import ConfigError, format_validation_error, load_yaml

TEMPLATES = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False)
PINNED = re.compile(r"\s*(all|none|both|neither) of (the )?(above|these|others)\s*\.?\s*", re.IGNORECASE)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Choice(Strict):
    text: str
    correct: bool = False
    explain: str = ""  # why this choice is right or wrong: shown when the student picks it or misses it
    pin: bool = False  # keep in place at the end when shuffling; "all of the above" is pinned anyway

    @property
    def pinned(self) -> bool:
        return self.pin or bool(PINNED.fullmatch(self.text))


class IntRange(Strict):
    """An integer drawn uniformly from min, min+step, ..., max."""

    min: int
    max: int
    step: int = Field(1, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> IntRange:
        if self.max < self.min:
            raise ValueError("max must be >= min")
        return self


class OneOf(Strict):
    """A value drawn uniformly from a list."""

    choices: list[int | float | str] = Field(min_length=1)


class Question(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    prompt: str
    points: float = Field(1.0, gt=0)
    tags: list[str] = Field(min_length=1)  # learning objectives, for item analysis by objective
    difficulty: Literal["easy", "medium", "hard"] = "medium"
    explain: str = ""  # shown in feedback whatever the answer: the teaching part
    params: dict[str, IntRange | OneOf] = {}
    compute: dict[str, str] = {}  # derived values: name -> expression over params and earlier names

    @property
    def templated(self) -> bool:
        return bool(self.params or self.compute)

    def template_fields(self) -> dict[str, str]:
        """Every text field that is rendered with the drawn values, by key path."""
        return {"prompt": self.prompt, "explain": self.explain}

    @model_validator(mode="after")
    def _names_resolve(self) -> Question:
        known = set(self.params)
        for name, text in self.compute.items():
            _check_expr(text, known, f"compute.{name}")
            known.add(name)
        if self.templated:
            for key, text in self.template_fields().items():
                try:
                    used = jinja2.meta.find_undeclared_variables(TEMPLATES.parse(text))
                except jinja2.TemplateSyntaxError as exc:
                    raise ValueError(f"{key}: template error: {exc.message}") from None
                if unknown := used - known:
                    raise ValueError(
                        f"{key}: uses {', '.join(sorted(unknown))}, which is not a param or compute name"
                    )
        return self

    def known_names(self) -> set[str]:
        return set(self.params) | set(self.compute)


def _check_expr(text: str, known: set[str], key: str) -> None:
    try:
        unknown = expr.names(text) - known
    except expr.ExprError as exc:
        raise ValueError(f"{key}: {exc}") from None
    if unknown:
        raise ValueError(
            f"{key}: {text!r} uses {', '.join(sorted(unknown))}, which is not a param or compute name"
        )


class WithChoices(Question):
    choices: list[Choice] = Field(min_length=2, max_length=26)  # lettered a..z
    shuffle: bool = True

    def template_fields(self) -> dict[str, str]:
        fields = super().template_fields()
        for i, c in enumerate(self.choices):
            fields[f"choices.{i}.text"] = c.text
            fields[f"choices.{i}.explain"] = c.explain
        return fields


class Single(WithChoices):
    """Exactly one right choice."""

    type: Literal["single"]

    @model_validator(mode="after")
    def _one_correct(self) -> Single:
        if sum(c.correct for c in self.choices) != 1:
            raise ValueError("a single-choice question needs exactly one choice with `correct: true`")
        return self


class Multi(WithChoices):
    """Select all that apply. Partial credit: each right pick earns 1/k of the points (k right choices),
    each wrong pick costs `penalty` times that, never below 0. Without partial credit: all or nothing."""

    type: Literal["multi"]
    partial: bool = True
    penalty: float = Field(0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _some_correct(self) -> Multi:
        if not any(c.correct for c in self.choices):
            raise ValueError("a multiple-select question needs at least one choice with `correct: true`")
        return self


class TrueFalse(Question):
    type: Literal["truefalse"]
    answer: bool


class Numeric(Question):
    """A number, right within max(abs_tol, rel_tol * |answer|). `answer` may be an expression over params."""

    type: Literal["numeric"]
    answer: float | str
    abs_tol: float = Field(0.0, ge=0)
    rel_tol: float = Field(0.0, ge=0)
    unit: str = ""

    @model_validator(mode="after")
    def _answer_expr(self) -> Numeric:
        if isinstance(self.answer, str):
            _check_expr(self.answer, self.known_names(), "answer")
        return self


class Text(Question):
    """A short answer, right if it equals an accepted answer after normalising (case, spaces, a final
    full stop, quotes) or fully matches a regex. `accept` is required: it is the model answer."""

    type: Literal["text"]
    accept: list[str] = Field(min_length=1)
    regex: list[str] = []
    case_sensitive: bool = False

    @field_validator("regex")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for p in patterns:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"regex {p!r} does not compile: {exc}") from None
        return patterns

    def template_fields(self) -> dict[str, str]:
        return {
            **super().template_fields(),
            **{f"accept.{i}": a for i, a in enumerate(self.accept)},
            **{f"regex.{i}": p for i, p in enumerate(self.regex)},
        }


class Ordering(Question):
    """Put `items` (listed in the right order) into order. Partial credit: share of pairs in the right
    order."""

    type: Literal["ordering"]
    items: list[str] = Field(min_length=3, max_length=26)
    partial: bool = False

    @field_validator("items")
    @classmethod
    def _distinct(cls, items: list[str]) -> list[str]:
        if len(set(items)) != len(items):
            raise ValueError("ordering items must be distinct")
        return items

    def template_fields(self) -> dict[str, str]:
        return {**super().template_fields(), **{f"items.{i}": t for i, t in enumerate(self.items)}}


class Code(Question):
    """What does this code print? The answer is the snippet's output, computed when the quiz is built.
    With `distractors` it is asked as single choice, else as a short answer compared without spaces."""

    type: Literal["code"]
    prompt: str = "What does this code print?"
    code: str
    assets: list[str] = []  # each is available to the snippet as a variable: minilm -> MINILM (its folder)
    distractors: list[Choice] = Field([], max_length=25)
    timeout: float = Field(60.0, gt=0)

    @field_validator("code")
    @classmethod
    def _parses(cls, code: str) -> str:
        try:
            compile(code, "<snippet>", "exec")
        except SyntaxError as exc:
            raise ValueError(f"code does not parse: line {exc.lineno}: {exc.msg}") from None
        return code

    @model_validator(mode="after")
    def _no_params(self) -> Code:
        if self.templated:
            raise ValueError("code questions cannot have params: the snippet is run once at build time")
        if any(d.correct for d in self.distractors):
            raise ValueError("distractors are wrong by definition: the right choice is the computed output")
        return self


QUESTION_TYPES = ("single", "multi", "truefalse", "numeric", "text", "ordering", "code")
AnyQuestion = Annotated[
    Single | Multi | TrueFalse | Numeric | Text | Ordering | Code, Field(discriminator="type")
]


class Pool(Strict):
    """Ask `pick` of these questions, chosen per student."""

    pick: int = Field(ge=1)
    questions: list[str] = Field(min_length=1)


class QuizInfo(Strict):
    title: str
    intro: str = ""
    shuffle_questions: bool = False
    salt: str = ""  # change it to give every student a fresh variant (a new term, a retake)
    attempts: int = Field(1, ge=1)  # submissions allowed per student in the portal; feedback after the last
    keep: Literal["best", "last"] = "best"  # which portal attempt's score the gradebook keeps


class Bank(Strict):
    quiz: QuizInfo
    pools: dict[str, Pool] = {}
    questions: list[AnyQuestion] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Bank:
        ids = [q.id for q in self.questions]
        if dupes := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"duplicate question ids: {', '.join(dupes)}")
        seen: dict[str, str] = {}
        for name, pool in self.pools.items():
            for qid in pool.questions:
                if qid not in ids:
                    raise ValueError(f"pools.{name}: no question with id {qid!r}")
                if qid in seen:
                    raise ValueError(f"pools.{name}: question {qid!r} is already in pool {seen[qid]!r}")
                seen[qid] = name
            if pool.pick > len(pool.questions):
                raise ValueError(f"pools.{name}: pick {pool.pick} of only {len(pool.questions)} questions")
        return self

    def pool_of(self, qid: str) -> str | None:
        return next((name for name, pool in self.pools.items() if qid in pool.questions), None)


_KEY_PREFIX = re.compile(r"Value error, ([A-Za-z_][\w-]*(?:\.[\w-]+)*): (.*)", re.DOTALL)


class _PreciseErrors:
    """A ValidationError's errors located as precisely as the file allows: the question type is
    dropped (`questions.3.single.choices` -> `questions.3.choices`), and a validator message that
    starts with a key path (`answer: ...`) moves that path into the location, so the line is the key's."""

    def __init__(self, exc: ValidationError) -> None:
        self._exc = exc

    def errors(self) -> list[dict[str, Any]]:
        out = []
        for e in self._exc.errors():
            loc = tuple(
                p
                for i, p in enumerate(e["loc"])
                if not (i == 2 and e["loc"][0] == "questions" and p in QUESTION_TYPES)
            )
            msg = e["msg"]
            if m := _KEY_PREFIX.fullmatch(msg):
                loc += tuple(int(p) if p.isdigit() else p for p in m.group(1).split("."))
                msg = m.group(2)
            out.append({**e, "loc": loc, "msg": msg})
        return out


def load_bank(path: Path) -> Bank:
    """Load and validate a bank; every problem is reported as `file:line: key.path: message`."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such quiz bank")
    data, lines = load_yaml(path)
    try:
        return Bank.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(path, _PreciseErrors(exc), lines)) from None
