"""`python -m tests.module_gradings OUT WORK MODULE...`: every given module's gradings, as
tests/test_modules.py checks them (first seed only, a pool of two), written to OUT as JSON.

The suite starts this at collection, in a process group of its own, so that the gradings run beside
the rest of the suite and a run that stops early (-x, Ctrl-C) can stop them all at once."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from autograder.layout import Layout
from autograder.validate import Check, validate_modules


def run(out: Path, work: Path, modules: list[str]) -> None:
    checks = validate_modules(
        Layout(Path(__file__).resolve().parents[1]), modules, work, jobs=2, first_seed_only=True
    )
    partial = out.with_suffix(".partial")
    partial.write_text(json.dumps({m: [asdict(c) for c in cs] for m, cs in checks.items()}))
    partial.replace(out)


def read(out: Path) -> dict[str, list[Check]]:
    return {m: [Check(**c) for c in cs] for m, cs in json.loads(out.read_text()).items()}


if __name__ == "__main__":
    run(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:])
