"""Date normalisation pairs for the seq2seq module: a date written the way people write it
("the twenty-first of March, nineteen ninety-nine", "21 Mar 1999") and its ISO form ("1999-03-21").

No seq2seq corpus ships offline, so the course generates one. `pairs(n, seed)` is deterministic;
`build` writes train.jsonl (20,000 pairs) and valid.jsonl (500 pairs whose sources are not in train).
"""

from __future__ import annotations

import calendar
import json
import random
from pathlib import Path

MONTHS = list(calendar.month_name)[1:]
UNITS = [
    "",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
ORDINAL_UNITS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
YEARS = range(1950, 2050)
N_TRAIN, N_VALID = 20_000, 500


def cardinal(n: int) -> str:
    """0 < n < 100 in words: 42 -> 'forty-two'."""
    if n < 20:
        return UNITS[n]
    tens, unit = divmod(n, 10)
    return TENS[tens] + (f"-{UNITS[unit]}" if unit else "")


def ordinal(n: int) -> str:
    """0 < n < 100 as an ordinal in words: 21 -> 'twenty-first'."""
    words = cardinal(n)
    head, _, last = words.rpartition("-")
    if last in ORDINAL_UNITS:
        last = ORDINAL_UNITS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return f"{head}-{last}" if head else last


def suffix(n: int) -> str:
    """21 -> '21st', 12 -> '12th'."""
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


def year_words(year: int, rng: random.Random) -> str:
    """1999 -> 'nineteen ninety-nine', 2005 -> 'two thousand and five', 2023 -> 'twenty twenty-three'."""
    century, rest = divmod(year, 100)
    if century == 19:
        return "nineteen " + (cardinal(rest) if rest >= 10 else f"oh {UNITS[rest]}")
    if rest == 0:
        return "two thousand"
    if rest < 10 or rng.random() < 0.5:
        return "two thousand " + rng.choice(["", "and "]) + cardinal(rest)
    return "twenty " + cardinal(rest)


def month_text(month: int, rng: random.Random) -> str:
    name = MONTHS[month - 1]
    name = name[:3] if rng.random() < 0.25 else name
    return rng.choice([name, name.lower(), name.upper()]) if rng.random() < 0.3 else name


def render(year: int, month: int, day: int, rng: random.Random) -> str:
    """One way of writing the date, chosen at random from a dozen styles."""
    m = month_text(month, rng)
    styles = [
        lambda: f"{m} {day}, {year}",
        lambda: f"{day} {m} {year}",
        lambda: f"{suffix(day)} of {m} {year}",
        lambda: f"{m} {suffix(day)}, {year}",
        lambda: f"the {ordinal(day)} of {m}, {year_words(year, rng)}",
        lambda: f"{m} {ordinal(day)} {year_words(year, rng)}",
        lambda: f"{ordinal(day)} {m} {year_words(year, rng)}",
        lambda: f"{year}, {m} {day}",
        lambda: f"{day}.{month}.{year}",
        lambda: f"{m} the {ordinal(day)}, {year}",
        lambda: f"on {m} {day} {year}",
        lambda: f"{day} {m} in the year {year_words(year, rng)}",
    ]
    return rng.choice(styles)()


def pairs(n: int, seed: int, exclude: set[str] = frozenset()) -> list[dict[str, str]]:
    """`n` distinct {"source", "target"} pairs whose sources are not in `exclude`."""
    rng = random.Random(seed)
    out: list[dict[str, str]] = []
    seen = set(exclude)
    while len(out) < n:
        year, month = rng.choice(YEARS), rng.randint(1, 12)
        day = rng.randint(1, calendar.monthrange(year, month)[1])
        source = render(year, month, day, rng)
        if source in seen:
            continue
        seen.add(source)
        out.append({"source": source, "target": f"{year:04d}-{month:02d}-{day:02d}"})
    return out


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def build(out: Path, needs: dict[str, Path]) -> None:
    train = pairs(N_TRAIN, seed=2027)
    valid = pairs(N_VALID, seed=2028, exclude={row["source"] for row in train})
    write_jsonl(out / "train.jsonl", train)
    write_jsonl(out / "valid.jsonl", valid)
