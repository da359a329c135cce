"""The argument values hidden tests pass to student functions, recorded on the reference's grading.

`course mutate` sets RECORD_ENV for that one grading: an "ignored argument" mutant then replaces a
parameter by the very value the tests pass. If every test passes one value, that mutant survives:
the hole of a `seed` or `max_length` no test varies. Only numbers and word-like strings are kept,
and never in a student's grading.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

RECORD_ENV = "COURSE_RECORD_ARGUMENTS"
MAX_VALUES = 4  # per parameter: enough to tell one value from several
SETTING = re.compile(r"[\w.\-/]{1,32}")  # a word-like string ("bpe", "left"), not a text to process


def _scalar(value: Any) -> bool:
    return isinstance(value, bool | int | float) or (
        isinstance(value, str) and bool(SETTING.fullmatch(value))
    )


def recording(call: Callable[..., Any], seen: dict[str, dict[str, list[Any]]]) -> Callable[..., Any]:
    """`call` (StudentHandle.call), noting into seen[fn][position or keyword] the scalars passed."""

    def recorded(fn: str, *args: Any, **kwargs: Any) -> Any:
        params = seen.setdefault(fn, {})
        for key, value in [*enumerate(args), *kwargs.items()]:
            if key == "timeout" or not _scalar(value):
                continue
            values = params.setdefault(str(key), [])
            if len(values) < MAX_VALUES and not any(type(v) is type(value) and v == value for v in values):
                values.append(value)
        return call(fn, *args, **kwargs)

    return recorded
