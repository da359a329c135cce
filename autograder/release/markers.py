"""Turn a reference file into a starter file (nbgrader-style solution regions)."""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass

BEGIN = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION\b[ \t:]*(?P<hint>.*?)\s*$")
# a `### more hint` line right after `### BEGIN SOLUTION hint` continues the hint (a long one wraps)
HINT_MORE = re.compile(r"^[ \t]*### (?!\s*(BEGIN|END)\s+(SOLUTION|HIDDEN)\b)(?P<hint>.*?)\s*$")
END = re.compile(r"^[ \t]*### END SOLUTION\b")
BEGIN_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN\b")
END_HIDDEN = re.compile(r"^[ \t]*### END HIDDEN\b")
INLINE = re.compile(r"^(?P<lhs>[ \t]*[^#\n]*?=)[ \t]*(?P<rhs>[^#\n]*?)[ \t]*#[ \t]*SOLUTION\b(?P<hint>.*)$")
# the same value alone on its line, as a formatter wraps a long `x = (\n    value  # SOLUTION hint\n)`
WRAPPED = re.compile(r"^(?P<indent>[ \t]*)[^#\s][^#\n]*?[ \t]*#[ \t]*SOLUTION\b(?P<hint>.*)$")
LEFTOVER = re.compile(r"###\s*(BEGIN|END)\s+(SOLUTION|HIDDEN)|#\s*SOLUTION\b")
DEFAULT_HINT = "write this part (the docstring above says what it must do)"
LINE_LENGTH = 110  # the starter's `# TODO:` and `raise NotImplementedError(...)` lines wrap to this


class MarkerError(ValueError):
    """The reference file's markers are malformed. Message names the file and line."""


@dataclass(frozen=True)
class Region:
    kind: str  # "solution" | "hidden"
    start: int  # 0-based line index of the BEGIN marker
    end: int  # 0-based line index of the END marker
    indent: str
    hint: str  # the BEGIN line's hint and its `### ` continuation lines, joined by spaces
    body: int  # 0-based line index of the region's first line after the hint
    hint_lines: tuple[str, ...]  # the hint as the author broke it over lines

    def todo(self) -> list[str]:
        """The hint as `# TODO:` comment lines, broken where the author broke it, each wrapped to
        LINE_LENGTH."""
        out: list[str] = []
        for line in self.hint_lines:
            out += textwrap.wrap(
                line,
                LINE_LENGTH,
                initial_indent=f"{self.indent}# " + ("" if out else "TODO: "),
                subsequent_indent=f"{self.indent}# ",
                break_long_words=False,
                break_on_hyphens=False,
            )
        return out

    def raise_stub(self) -> list[str]:
        """`raise NotImplementedError(hint)`; a long hint is written as adjacent string literals, one a
        line (broken where the author broke it, and where a line would be too long), whose
        concatenation is the hint."""
        line = f"{self.indent}raise NotImplementedError({self.hint!r})"
        if len(line) <= LINE_LENGTH:
            return [line]
        inner = f"{self.indent}    "
        parts: list[str] = []
        for n, hint_line in enumerate(self.hint_lines):
            text = hint_line if n == len(self.hint_lines) - 1 else f"{hint_line} "  # the joining space
            for k, word in enumerate(re.findall(r"\S+\s*|\s+", text)):  # a word keeps its spaces
                if k and len(inner) + len(repr(parts[-1] + word)) <= LINE_LENGTH:
                    parts[-1] += word
                else:
                    parts.append(word)
        return [
            f"{self.indent}raise NotImplementedError(",
            *(f"{inner}{part!r}" for part in parts),
            f"{self.indent})",
        ]


def find_regions(lines: list[str], filename: str) -> list[Region]:
    """Locate solution and hidden regions; refuse unbalanced or nested markers."""
    regions: list[Region] = []
    open_region: tuple[str, int, str, str] | None = None
    for i, line in enumerate(lines):
        begin = BEGIN.match(line)
        kind = "solution" if begin else "hidden" if BEGIN_HIDDEN.match(line) else None
        if kind:
            if open_region:
                raise MarkerError(
                    f"{filename}:{i + 1}: BEGIN {kind.upper()} inside the region opened at line "
                    f"{open_region[1] + 1}; regions cannot nest"
                )
            indent = begin.group("indent") if begin else line[: len(line) - len(line.lstrip(" \t"))]
            open_region = (kind, i, indent, begin.group("hint") if begin else "")
            continue
        end_kind = "solution" if END.match(line) else "hidden" if END_HIDDEN.match(line) else None
        if end_kind:
            if not open_region:
                raise MarkerError(f"{filename}:{i + 1}: END {end_kind.upper()} without a matching BEGIN")
            if open_region[0] != end_kind:
                raise MarkerError(
                    f"{filename}:{i + 1}: END {end_kind.upper()} closes the {open_region[0]} region "
                    f"opened at line {open_region[1] + 1}"
                )
            start, indent, hint = open_region[1:]
            parts, body = _continued_hint(lines, start, hint) if end_kind == "solution" else ([], start + 1)
            parts = parts or [DEFAULT_HINT]
            regions.append(Region(end_kind, start, i, indent, " ".join(parts), body, tuple(parts)))
            open_region = None
    if open_region:
        raise MarkerError(f"{filename}:{open_region[1] + 1}: BEGIN {open_region[0].upper()} is never closed")
    return regions


def _continued_hint(lines: list[str], start: int, hint: str) -> tuple[list[str], int]:
    """The BEGIN line's hint and the `### ` lines right after it, and where the body begins."""
    parts, i = [hint], start + 1
    while i < len(lines) and (more := HINT_MORE.match(lines[i])):
        parts.append(more.group("hint"))
        i += 1
    return [p for p in parts if p], i


def strip_solutions(source: str, filename: str = "<reference>") -> str:
    """Replace each solution region by a TODO and `raise NotImplementedError`; drop hidden regions."""
    lines = source.splitlines()
    regions = {r.start: r for r in find_regions(lines, filename)}
    out: list[str] = []
    i = 0
    while i < len(lines):
        region = regions.get(i)
        if region is None:
            out.append(_strip_inline(lines[i], out[-1] if out else ""))
            i += 1
            continue
        if region.kind == "solution":
            out += [*region.todo(), *region.raise_stub()]
        i = region.end + 1
    return "\n".join(out) + "\n"


def _strip_inline(line: str, previous: str = "") -> str:
    """`x = 0.1  # SOLUTION hint` becomes `x = ...  # TODO: hint`; so does the value of a wrapped
    `x = (` whose next line is `0.1  # SOLUTION hint`."""
    m = INLINE.match(line)
    if m:
        return f"{m.group('lhs')} ...  # TODO: {m.group('hint').strip(' :') or 'fill in this value'}"
    wrapped = WRAPPED.match(line)
    if wrapped and previous.rstrip().endswith("= ("):
        hint = wrapped.group("hint").strip(" :") or "fill in this value"
        return f"{wrapped.group('indent')}...  # TODO: {hint}"
    return line


def assert_clean(starter: str, filename: str) -> None:
    """Refuse a starter that still carries a marker, or that is not valid Python."""
    for i, line in enumerate(starter.splitlines(), 1):
        if LEFTOVER.search(line):
            raise MarkerError(
                f"{filename}:{i}: a solution marker is left in the student output: {line.strip()}"
            )
    try:
        ast.parse(starter, filename)
    except SyntaxError as exc:
        raise MarkerError(f"{filename}:{exc.lineno}: the starter is not valid Python: {exc.msg}") from None
