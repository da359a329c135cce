"""Tell a grader's tuple-vs-list comparison from a real failure.

Values cross the worker boundary as JSON, so a tuple comes back as a list and `got == (1, 2)` is
False for a perfect answer. When a failing `assert` compared (== or !=) a value holding a tuple with
one that equals it once tuples are lists, or with a `*.call(...)` result (always JSON), `course
validate` says so instead of leaving the author with a reference that fails for no visible reason.
"""

from __future__ import annotations

import ast
import linecache
from functools import cache
from types import FrameType, TracebackType
from typing import Any

MESSAGE = "compared a list with a tuple: values from the worker are JSON, use same_plain or lists"
_UNKNOWN = object()


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _has_tuple(value: Any) -> bool:
    if isinstance(value, tuple):
        return True
    if isinstance(value, list):
        return any(_has_tuple(v) for v in value)
    if isinstance(value, dict):
        return any(_has_tuple(v) for v in value.values())
    return False


@cache
def _asserts(filename: str) -> tuple[ast.Assert, ...]:
    try:
        tree = ast.parse("".join(linecache.getlines(filename)), filename)
    except (SyntaxError, ValueError):
        return ()
    return tuple(n for n in ast.walk(tree) if isinstance(n, ast.Assert))


def _value(expr: ast.expr, frame: FrameType) -> Any:
    """The operand's value, re-evaluated in the grader's frame; never for an expression that calls
    anything (that could run student code again)."""
    if any(
        isinstance(n, ast.Call | ast.NamedExpr | ast.Await | ast.Yield | ast.Lambda) for n in ast.walk(expr)
    ):
        return _UNKNOWN
    try:  # eval of the grader's own expression, checked above to call nothing
        return eval(compile(ast.Expression(expr), "<assert>", "eval"), frame.f_globals, frame.f_locals)
    except Exception:  # noqa: BLE001 - no value, no hint
        return _UNKNOWN


def _is_call_result(expr: ast.expr) -> bool:
    return isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "call"


def _mismatch(left: ast.expr, right: ast.expr, frame: FrameType) -> bool:
    a, b = _value(left, frame), _value(right, frame)
    for this, other, other_expr in ((a, b, right), (b, a, left)):
        if this is _UNKNOWN or not _has_tuple(this):
            continue
        if other is _UNKNOWN and _is_call_result(other_expr):
            return True
        if other is not _UNKNOWN and this != other and _plain(this) == _plain(other):
            return True
    return False


def list_tuple_mismatch(tb: TracebackType | None) -> bool:
    """Whether the innermost failing `assert` of this traceback compared a tuple with JSON."""
    frames = []
    while tb is not None:
        frames.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    for frame, line in reversed(frames):
        for node in _asserts(frame.f_code.co_filename):
            if node.lineno <= line <= (node.end_lineno or node.lineno):
                return any(
                    _mismatch(left, right, frame)
                    for cmp in ast.walk(node.test)
                    if isinstance(cmp, ast.Compare)
                    for op, left, right in zip(
                        cmp.ops, [cmp.left, *cmp.comparators[:-1]], cmp.comparators, strict=True
                    )
                    if isinstance(op, ast.Eq | ast.NotEq)
                )
    return False
