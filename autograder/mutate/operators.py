"""Mutants of a reference file's solution regions, made by operators that model student mistakes.

Each mutant changes one thing inside one top-level function's solution region (`### BEGIN
SOLUTION` ... `### END SOLUTION`, or a `# SOLUTION` line) by editing the source text in place: the
rest of the file stays byte-identical, so a mutant's diff is the mistake and nothing else.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from autograder.release.markers import INLINE, find_regions

# Calls whose integer arguments are axes/dims.
AXIS_FUNCS = {
    "sum", "mean", "max", "min", "argmax", "argmin", "softmax", "log_softmax", "cat", "concat",
    "concatenate", "stack", "std", "var", "logsumexp", "cumsum", "prod", "size", "unsqueeze",
    "squeeze", "flatten", "transpose", "any", "all", "norm", "amax", "amin", "sort", "argsort",
}  # fmt: skip
AXIS_KEYWORDS = {"dim", "axis", "dims", "axes", "start_dim", "end_dim", "dim0", "dim1"}
MODE_METHODS = {"eval", "train", "requires_grad_", "zero_grad"}  # calls that set a mode, not compute
# ... and return their receiver, so `x.eval()` used as a value means `x` (not `trainer.train()`)
RETURNS_SELF = {"eval", "requires_grad_"}
# Arguments a student might put in each other's place: names, attributes, items, literals.
SWAPPABLE = (ast.Name, ast.Attribute, ast.Subscript, ast.Constant, ast.UnaryOp)
SOFTMAX = {"softmax", "log_softmax"}
FLIP = {
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE,
    ast.LtE: ast.Gt, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In,
}  # fmt: skip
LOOSEN = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}
OP_TEXT = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
    ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
}  # fmt: skip
SCALAR_CONSTANTS = {"int": "0", "float": "0.0", "str": '""', "bool": "False"}
# Expressions that need no parentheses wherever an expression of the same kind stood.
ATOMS = (ast.Name, ast.Constant, ast.Attribute, ast.Subscript, ast.Call, ast.List, ast.Tuple, ast.Dict)

OPERATORS = (
    "flip_comparison",
    "loosen_comparison",
    "off_by_one",
    "ignore_argument",
    "swap_arguments",
    "drop_call",
    "drop_mode",
    "change_axis",
    "drop_keyword",
    "drop_softmax",
)


@dataclass(frozen=True)
class Edit:
    start: tuple[int, int]  # (1-based line, utf-8 byte column), as ast reports positions
    end: tuple[int, int]
    text: str


@dataclass(frozen=True)
class Mutant:
    id: str  # function:operator:hash of the changed lines: stable when lines move
    function: str
    operator: str
    file: str
    line: int  # 1-based, first changed line
    source: str  # the whole mutated file
    diff: str  # unified diff against the reference, one line of context


def solution_lines(source: str, filename: str = "<reference>") -> set[int]:
    """1-based numbers of the lines inside solution regions, and of `# SOLUTION` lines."""
    lines = source.splitlines()
    inside = {
        n + 1
        for region in find_regions(lines, filename)
        if region.kind == "solution"
        for n in range(region.start + 1, region.end)
    }
    return inside | {n for n, line in enumerate(lines, 1) if INLINE.match(line)}


# The nodes the rules read and edit: ast gives each a start and an end.
Located = ast.expr | ast.stmt | ast.keyword


def _start(node: Located) -> tuple[int, int]:
    return node.lineno, node.col_offset


def _end(node: Located) -> tuple[int, int]:
    # ast.parse sets every node's end; only nodes built by hand lack one, and none are mutated
    assert node.end_lineno is not None and node.end_col_offset is not None, "a node without an end"
    return node.end_lineno, node.end_col_offset


def lines_of(node: Located) -> range:
    """The 1-based numbers of the lines `node` spans."""
    return range(node.lineno, _end(node)[0] + 1)


def _segment(source_lines: list[bytes], node: Located) -> str:
    return _slice(source_lines, _start(node), _end(node))


def _slice(lines: list[bytes], start: tuple[int, int], end: tuple[int, int]) -> str:
    if start[0] == end[0]:
        return lines[start[0] - 1][start[1] : end[1]].decode()
    parts = [lines[start[0] - 1][start[1] :], *lines[start[0] : end[0] - 1], lines[end[0] - 1][: end[1]]]
    return b"".join(parts).decode()


def _wrap(text: str, node: ast.AST) -> str:
    return text if isinstance(node, ATOMS) else f"({text})"


def _replace(node: Located, text: str) -> Edit:
    return Edit(_start(node), _end(node), text)


def _int_value(node: ast.AST) -> int | None:
    """The value of an int literal, negative ones included; None for anything else."""
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return value if type(value) is int else None


def _call_name(call: ast.Call) -> str | None:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


class _Context:
    """One function being mutated: its source bytes, and which of its lines may change."""

    def __init__(
        self,
        source: str,
        func: ast.FunctionDef | ast.AsyncFunctionDef,
        allowed: set[int],
        observed: dict[str, list[Any]],
    ) -> None:
        self.lines = source.encode().splitlines(keepends=True)
        self.func = func
        self.allowed = allowed
        self.observed = observed  # position or keyword -> the values the hidden tests pass
        self.statements = {
            id(n.value) for n in ast.walk(func) if isinstance(n, ast.Expr)
        }  # calls as statements

    def inside(self, node: Located) -> bool:
        return all(n in self.allowed for n in lines_of(node))

    def text(self, node: Located) -> str:
        return _segment(self.lines, node)


Mutation = tuple[str, list[Edit]]  # (operator, edits)


def _comparisons(node: ast.AST, ctx: _Context) -> Iterator[Mutation]:
    if not isinstance(node, ast.Compare):
        return
    operands = [node.left, *node.comparators]
    for op, left, right in zip(node.ops, operands[:-1], operands[1:], strict=True):
        for name, table in (("flip_comparison", FLIP), ("loosen_comparison", LOOSEN)):
            if type(op) in table:  # only the operator's text changes
                new = OP_TEXT[table[type(op)]]
                yield name, [Edit(_end(left), _start(right), f" {new} ")]


def _shifted(node: ast.expr, ctx: _Context) -> Iterator[Edit]:
    value = _int_value(node)
    if value is not None:
        yield from (_replace(node, str(value + d)) for d in (1, -1))
    else:
        text = _wrap(ctx.text(node), node)
        yield from (_replace(node, f"{text} {sign} 1") for sign in "+-")


def _off_by_one(node: ast.AST, ctx: _Context) -> Iterator[Mutation]:
    if isinstance(node, ast.Subscript):
        index = node.slice
        if isinstance(index, ast.Slice):
            for bound in (index.lower, index.upper):
                if bound is not None:
                    yield from (("off_by_one", [e]) for e in _shifted(bound, ctx))
        elif _int_value(index) is not None:
            yield from (("off_by_one", [e]) for e in _shifted(index, ctx))
    elif isinstance(node, ast.Call) and _call_name(node) == "range" and node.args:
        stop = node.args[0] if len(node.args) == 1 else node.args[1]
        yield from (("off_by_one", [e]) for e in _shifted(stop, ctx))


def _ignore_argument(node: ast.AST, ctx: _Context) -> Iterator[Mutation]:
    """Every use of a parameter replaced by its default and by each value the hidden tests pass (a
    test that only ever passes one value cannot kill that one); failing both, by a constant of its
    annotated type."""
    if node is not ctx.func:
        return
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    defaults = dict(
        zip([a.arg for a in positional[len(positional) - len(args.defaults) :]], args.defaults, strict=True)
    )
    defaults |= {a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None}
    position = {a.arg: str(i) for i, a in enumerate(positional)}
    for arg in [*positional, *args.kwonlyargs]:
        uses = [
            n
            for n in ast.walk(node)
            if isinstance(n, ast.Name) and n.id == arg.arg and isinstance(n.ctx, ast.Load) and ctx.inside(n)
        ]
        if not uses:
            continue
        constants = []
        if arg.arg in defaults:
            constants.append(_wrap(ctx.text(defaults[arg.arg]), defaults[arg.arg]))
        passed = [*ctx.observed.get(position.get(arg.arg, ""), []), *ctx.observed.get(arg.arg, [])]
        constants += [repr(value) for value in passed]
        annotation = ast.unparse(arg.annotation) if arg.annotation else None
        if not constants and annotation in SCALAR_CONSTANTS:  # no better guess at a hard-coded value
            constants.append(SCALAR_CONSTANTS[annotation])
        for constant in dict.fromkeys(constants):
            yield "ignore_argument", [_replace(use, constant) for use in uses]


def _swap_arguments(node: ast.AST, ctx: _Context) -> Iterator[Mutation]:
    if not isinstance(node, ast.Call) or any(isinstance(a, ast.Starred) for a in node.args):
        return
    for a, b in zip(node.args[:-1], node.args[1:], strict=True):
        if not (isinstance(a, SWAPPABLE) and isinstance(b, SWAPPABLE)) or ctx.text(a) == ctx.text(b):
            continue  # `f(g(x), y)` swapped is a crash, not a mistake anyone makes
        if isinstance(a, ast.Constant) and isinstance(b, ast.Constant) and type(a.value) is not type(b.value):
            continue
        yield "swap_arguments", [_replace(a, ctx.text(b)), _replace(b, ctx.text(a))]


def _drop_call(node: ast.AST, ctx: _Context) -> Iterator[Mutation]:
    """A call whose result is discarded, or an attribute set (`tokenizer.padding_side = "left"`)."""
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        mode = _call_name(node.value) in MODE_METHODS and isinstance(node.value.func, ast.Attribute)
        yield "drop_mode" if mode else "drop_call", [_replace(node, "pass")]
    elif isinstance(node, ast.Assign) and all(isinstance(t, ast.Attribute) for t in node.targets):
        yield "drop_call", [_replace(node, "pass")]


def _drop_mode(node: ast.AST, ctx: _Context) -> Iterator[Mutation]:
    """`x.eval()` used as a value becomes `x`; `with torch.no_grad():` runs its body bare."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in RETURNS_SELF
        and id(node) not in ctx.statements
        and not node.args
        and not node.keywords
    ):
        yield "drop_mode", [_replace(node, _wrap(ctx.text(node.func.value), node.func.value))]
    elif (
        isinstance(node, ast.With | ast.AsyncWith)
        and all(item.optional_vars is None for item in node.items)
        and _end(node.items[-1].context_expr)[0] < node.body[0].lineno
    ):
        header_end = node.items[-1].context_expr
        # `with a(), b():` -> `if True:` keeps the body's indentation and nothing else
        yield "drop_mode", [Edit(_start(node), _header_colon(ctx, header_end), "if True:")]


def _header_colon(ctx: _Context, last: ast.expr) -> tuple[int, int]:
    """The position just after the `:` that ends a compound statement's header."""
    line, col = _end(last)
    while True:
        found = ctx.lines[line - 1].find(b":", col)
        if found >= 0:
            return line, found + 1
        line, col = line + 1, 0


def _change_axis(node: ast.AST, ctx: _Context) -> Iterator[Mutation]:
    if not isinstance(node, ast.Call):
        return
    values = [kw.value for kw in node.keywords if kw.arg in AXIS_KEYWORDS]
    if _call_name(node) in AXIS_FUNCS:
        values += node.args
    for value in values:
        axis = _int_value(value)
        if axis is not None:
            for other in (axis + 1, axis - 1):
                yield "change_axis", [_replace(value, str(other))]


def _drop_keyword(node: ast.AST, ctx: _Context) -> Iterator[Mutation]:
    if not isinstance(node, ast.Call) or _call_name(node) == "dict":
        return
    for kw in node.keywords:
        if kw.arg is not None:
            yield "drop_keyword", [_remove_argument(ctx, node, kw)]


def _remove_argument(ctx: _Context, call: ast.Call, kw: ast.keyword) -> Edit:
    """Delete `name=value` with the comma after it (or, for the last argument, the one before)."""
    lines = ctx.lines
    line, col = _end(kw)
    while line <= len(lines):  # skip spaces and newlines to the next token
        rest = lines[line - 1][col:]
        stripped = rest.lstrip()
        if stripped and not stripped.startswith(b"#"):
            col += len(rest) - len(stripped)
            break
        line, col = line + 1, 0
    if lines[line - 1][col : col + 1] == b",":
        end_line, end_col = line, col + 1
        rest = lines[end_line - 1][end_col:]
        own_line = not lines[kw.lineno - 1][: kw.col_offset].strip()
        if own_line and end_line == kw.lineno and not rest.strip():  # `name=value,` alone on its line
            return Edit((kw.lineno, 0), (kw.lineno + 1, 0), "")
        end_col += len(rest) - len(rest.lstrip(b" "))
        return Edit((kw.lineno, kw.col_offset), (end_line, end_col), "")
    # the last argument: remove from the end of the one before it, if any
    arguments: list[Located] = [*call.args, *call.keywords]
    before = [_end(a) for a in arguments if _end(a) <= _start(kw)]
    return Edit(max(before, default=_start(kw)), _end(kw), "")


def _drop_softmax(node: ast.AST, ctx: _Context) -> Iterator[Mutation]:
    if not isinstance(node, ast.Call) or _call_name(node) not in SOFTMAX:
        return
    if node.args and _int_value(node.args[0]) is None:  # torch.softmax(x, -1), F.log_softmax(x, dim=1)
        inner = node.args[0]
    elif isinstance(node.func, ast.Attribute):  # x.softmax(-1)
        inner = node.func.value
    else:
        return
    yield "drop_softmax", [_replace(node, _wrap(ctx.text(inner), inner))]


RULES: list[Callable[[ast.AST, _Context], Iterator[Mutation]]] = [
    _comparisons,
    _off_by_one,
    _ignore_argument,
    _swap_arguments,
    _drop_call,
    _drop_mode,
    _change_axis,
    _drop_keyword,
    _drop_softmax,
]


def _apply(lines: list[bytes], edits: list[Edit]) -> str:
    """The file with every edit made (edits never overlap)."""
    flat = b"".join(lines)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(pos: tuple[int, int]) -> int:
        return starts[pos[0] - 1] + pos[1]

    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        flat = flat[: offset(edit.start)] + edit.text.encode() + flat[offset(edit.end) :]
    return flat.decode()


def _mutant_id(function: str, operator: str, before: list[str], after: list[str]) -> str:
    text = "\n".join(line.strip() for line in before) + "\0" + "\n".join(line.strip() for line in after)
    return f"{function}:{operator}:{hashlib.sha256(text.encode()).hexdigest()[:10]}"


def functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def outside_functions(source: str, filename: str = "<reference>") -> list[int]:
    """Solution lines no top-level function holds (module constants, class bodies): not mutated."""
    inside = {n for f in functions(ast.parse(source, filename)) for n in lines_of(f)}
    return sorted(solution_lines(source, filename) - inside)


def generate(
    source: str,
    filename: str = "<reference>",
    only: set[str] | None = None,
    observed: dict[str, dict[str, list[Any]]] | None = None,
) -> list[Mutant]:
    """Every distinct, valid mutant of the solution regions of `source`'s top-level functions.
    `observed`: function -> position or keyword -> argument values the hidden tests pass."""
    tree = ast.parse(source, filename)
    allowed = solution_lines(source, filename)
    original = source.splitlines(keepends=True)
    seen = {source}
    mutants: list[Mutant] = []
    ids: set[str] = set()
    for func in functions(tree):
        if only is not None and func.name not in only:
            continue
        ctx = _Context(source, func, allowed, (observed or {}).get(func.name, {}))
        for node in ast.walk(func):
            # every rule edits an expression or a statement (the function itself: its parameters)
            if node is not func and not (isinstance(node, ast.expr | ast.stmt) and ctx.inside(node)):
                continue
            for rule in RULES:
                for operator, edits in rule(node, ctx):
                    mutated = _apply(ctx.lines, edits)
                    if mutated in seen:
                        continue
                    try:
                        ast.parse(mutated, filename)
                    except SyntaxError:
                        continue
                    seen.add(mutated)
                    mutants.append(_make(func.name, operator, filename, original, mutated, edits, ids))
    return mutants


def _make(
    function: str,
    operator: str,
    filename: str,
    original: list[str],
    mutated: str,
    edits: list[Edit],
    ids: set[str],
) -> Mutant:
    after_lines = mutated.splitlines(keepends=True)
    first = min(e.start[0] for e in edits)
    last = max(e.end[0] for e in edits)
    delta = len(after_lines) - len(original)
    before, after = original[first - 1 : last], after_lines[first - 1 : last + delta]
    mutant_id = base = _mutant_id(function, operator, before, after)
    n = 1
    while mutant_id in ids:  # the same change on two identical lines
        n += 1
        mutant_id = f"{base}-{n}"
    ids.add(mutant_id)
    diff = "".join(difflib.unified_diff(original, after_lines, f"a/{filename}", f"b/{filename}", n=1))
    return Mutant(mutant_id, function, operator, filename, first, mutated, diff)
