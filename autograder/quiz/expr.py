"""A small, safe expression language for parameterised answers.

A bank may say `answer: "d_in * d_out + d_out"`. That text is parsed with `ast` and evaluated by
walking a whitelist of nodes: arithmetic, comparisons, conditionals, tuples and lists, indexing,
and a few pure functions. Names come only from the question's parameters. Nothing is ever passed to
eval(), attributes cannot be reached, and powers and repetitions are bounded so a typo cannot hang
the build.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs,
    "min": min,
    "max": max,
    "round": round,
    "len": len,
    "sum": sum,
    "int": int,
    "float": float,
    "str": str,
    "ceil": math.ceil,
    "floor": math.floor,
    "sqrt": math.sqrt,
    "log": math.log,
    "log2": math.log2,
    "exp": math.exp,
    "prod": math.prod,
}
_BINARY: dict[type, Callable[..., Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[..., Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Not: operator.not_,
}
_COMPARE: dict[type, Callable[..., Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
MAX_EXPONENT = 256
MAX_SEQUENCE = 10_000


class ExprError(ValueError):
    """An expression uses something outside the safe language, or fails to evaluate."""


def parse(text: str) -> ast.Expression:
    """Parse `text` and reject any construct the evaluator does not allow."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"{text!r} is not an expression: {exc.msg}") from None
    allowed = (
        ast.Expression,
        ast.BinOp,
        ast.UnaryOp,
        ast.BoolOp,
        ast.Compare,
        ast.IfExp,
        ast.Constant,
        ast.Name,
        ast.Load,
        ast.Tuple,
        ast.List,
        ast.Call,
        ast.Subscript,
        ast.Slice,
        ast.And,
        ast.Or,
        *_BINARY,
        *_UNARY,
        *_COMPARE,
    )
    for node in ast.walk(tree):
        if not isinstance(node, allowed):
            raise ExprError(f"{text!r}: {type(node).__name__} is not allowed in an answer expression")
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS and not node.keywords
        ):
            raise ExprError(f"{text!r}: only calls of {', '.join(FUNCTIONS)} are allowed, without keywords")
    return tree


def names(text: str) -> set[str]:
    """The variable names an expression reads (function names excluded)."""
    tree = parse(text)
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called}


def evaluate(text: str, values: Mapping[str, object]) -> object:
    """Evaluate `text` with `values` as the only variables."""
    return _eval(parse(text).body, values, text)


def _eval(node: ast.AST, values: Mapping[str, object], text: str) -> object:
    match node:
        case ast.Constant(value=value) if isinstance(value, int | float | str | bool):
            return value
        case ast.Name(id=name):
            if name not in values:
                raise ExprError(
                    f"{text!r}: unknown name {name!r} (known: {', '.join(sorted(values)) or 'none'})"
                )
            return values[name]
        case ast.BinOp(left=left, op=op, right=right):
            a, b = _eval(left, values, text), _eval(right, values, text)
            if isinstance(op, ast.Pow) and isinstance(b, int | float) and abs(b) > MAX_EXPONENT:
                raise ExprError(f"{text!r}: exponent {b} is larger than {MAX_EXPONENT}")
            if isinstance(op, ast.Mult):
                seq, times = (a, b) if isinstance(a, str | list | tuple) else (b, a)
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(times, int)
                    and len(seq) * times > MAX_SEQUENCE
                ):
                    raise ExprError(f"{text!r}: builds a sequence longer than {MAX_SEQUENCE}")
            return _guard(text, _BINARY[type(op)], a, b)
        case ast.UnaryOp(op=op, operand=operand):
            return _UNARY[type(op)](_eval(operand, values, text))
        case ast.BoolOp(op=op, values=operands):
            result = _eval(operands[0], values, text)
            for operand in operands[1:]:
                if (isinstance(op, ast.And) and not result) or (isinstance(op, ast.Or) and result):
                    break
                result = _eval(operand, values, text)
            return result
        case ast.Compare(left=left, ops=ops, comparators=comparators):
            a = _eval(left, values, text)
            for cmp, right in zip(ops, comparators, strict=True):
                b = _eval(right, values, text)
                if not _COMPARE[type(cmp)](a, b):
                    return False
                a = b
            return True
        case ast.IfExp(test=test, body=body, orelse=orelse):
            return _eval(body if _eval(test, values, text) else orelse, values, text)
        case ast.Tuple(elts=elts):
            return tuple(_eval(e, values, text) for e in elts)
        case ast.List(elts=elts):
            return [_eval(e, values, text) for e in elts]
        case ast.Subscript(value=value, slice=index):
            return _guard(text, operator.getitem, _eval(value, values, text), _eval(index, values, text))
        case ast.Slice(lower=lower, upper=upper, step=step):
            return slice(*(None if p is None else _eval(p, values, text) for p in (lower, upper, step)))
        case ast.Call(func=ast.Name(id=fn), args=args):
            return _guard(text, FUNCTIONS[fn], *(_eval(a, values, text) for a in args))
    raise ExprError(f"{text!r}: cannot evaluate {ast.dump(node)}")


def _guard(text: str, fn: Callable[..., Any], *args: object) -> object:
    try:
        return fn(*args)
    except (ArithmeticError, TypeError, ValueError, IndexError, KeyError) as exc:
        raise ExprError(f"{text!r}: {type(exc).__name__}: {exc}") from None
