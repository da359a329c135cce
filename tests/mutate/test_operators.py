"""Each mutation operator on a small function, with the mutant it must make (and nothing outside
the solution regions)."""

from __future__ import annotations

import ast
import textwrap

import pytest

from autograder.mutate.operators import OPERATORS, generate


def body_mutants(body: str, operator: str, signature: str = "def f(x, y, n: int, k=3):") -> list[str]:
    """The solution body of every mutant `operator` makes of `signature` + `body`."""
    solution = textwrap.indent(textwrap.dedent(body), "    ")
    source = f"{signature}\n    ### BEGIN SOLUTION\n{solution}    ### END SOLUTION\n"
    out = []
    for m in generate(source, "lab.py"):
        if m.operator == operator:
            lines = m.source.splitlines()
            out.append("\n".join(line.strip() for line in lines[2:-1]))
    return out


@pytest.mark.parametrize(
    ("operator", "body", "expected"),
    [
        ("flip_comparison", "return x < y\n", ["return x >= y"]),
        ("flip_comparison", "return x is None\n", ["return x is not None"]),
        ("loosen_comparison", "return x < y\n", ["return x <= y"]),
        ("loosen_comparison", "return x >= y\n", ["return x > y"]),
        ("off_by_one", "return x[1:n]\n",
         ["return x[2:n]", "return x[0:n]", "return x[1:n + 1]", "return x[1:n - 1]"]),
        ("off_by_one", "return x[-1]\n", ["return x[0]", "return x[-2]"]),
        ("off_by_one", "return list(range(n))\n", ["return list(range(n + 1))", "return list(range(n - 1))"]),
        ("ignore_argument", "return n * 2\n", ["return 0 * 2"]),  # int annotation: a constant
        ("ignore_argument", "return k + 1\n", ["return 3 + 1"]),  # its default
        ("ignore_argument", "return x + y\n", []),  # no default, no scalar annotation: no guess
        ("swap_arguments", "return g(x, y, n)\n", ["return g(y, x, n)", "return g(x, n, y)"]),
        # no call, no 'a' for 1
        ("swap_arguments", "return g(h(x), y, 'a', 1)\n", ["return g(h(x), 'a', y, 1)"]),
        ("drop_call", "x.append(1)\nreturn x\n", ["pass\nreturn x"]),
        ("drop_call", 'x.padding_side = "left"\nreturn x\n', ["pass\nreturn x"]),
        ("drop_mode", "return x.eval()\n", ["return x"]),
        ("drop_mode", "x.eval()\nreturn x\n", ["pass\nreturn x"]),  # once, not also as `x`
        ("drop_mode", "return x.train().loss\n", []),  # Trainer.train() computes: not a mode
        ("drop_mode", "with torch.no_grad():\n    y = x(1)\nreturn y\n",
         ["if True:\ny = x(1)\nreturn y"]),
        ("drop_mode", "with open(x) as fh:\n    return fh.read()\n", []),  # the body needs `fh`
        ("change_axis", "return x.softmax(dim=-1)\n",
         ["return x.softmax(dim=0)", "return x.softmax(dim=-2)"]),
        ("change_axis", "return x.sum(1)\n", ["return x.sum(2)", "return x.sum(0)"]),
        ("drop_keyword", "return x(y, truncation=True, max_length=n)\n",
         ["return x(y, max_length=n)", "return x(y, truncation=True)"]),
        ("drop_keyword", "return dict(a=1)\n", []),  # a dict's keys are data, not settings
        ("drop_keyword", "z = g(1, 2)\nreturn x(k=n)\n", ["z = g(1, 2)\nreturn x()"]),  # only its own call
        ("drop_softmax", "return torch.log_softmax(x, dim=-1)\n", ["return x"]),
        ("drop_softmax", "return (x + y).softmax(-1)\n", ["return (x + y)"]),
    ],
)  # fmt: skip
def test_operator_makes_the_expected_mutant(operator: str, body: str, expected: list[str]) -> None:
    assert operator in OPERATORS
    assert body_mutants(body, operator) == expected


def test_ignored_argument_takes_the_values_the_tests_pass() -> None:
    """A test that only ever passes seed=1234 cannot kill `seed` replaced by 1234."""
    source = (
        "def f(x, seed: int, k=3):\n    ### BEGIN SOLUTION\n    return x + seed + k\n    ### END SOLUTION\n"
    )
    observed = {"f": {"1": [1234], "k": [3, 5], "0": ["bpe"]}}
    bodies = [m.source.splitlines()[2].strip() for m in generate(source, "lab.py", observed=observed)]
    assert bodies == [
        "return 'bpe' + seed + k",
        "return x + 1234 + k",  # and no `0`: the values tests pass are the better guesses
        "return x + seed + 3",  # the default, also passed: one mutant
        "return x + seed + 5",
    ]


def test_keyword_alone_on_its_line_goes_with_its_line() -> None:
    body = "return x(\n    y,\n    truncation=True,\n    max_length=n,\n)\n"
    assert "return x(\ny,\nmax_length=n,\n)" in body_mutants(body, "drop_keyword")


MODULE = '''
import torch

HELPER = 1


def f(x, n: int):
    """Docstring."""
    y = x[0] if n > 1 else x  # outside the region: never mutated
    ### BEGIN SOLUTION
    return torch.softmax(y, dim=-1)
    ### END SOLUTION


def g(x):
    lr = 0.1  # SOLUTION the rate
    return x < lr
'''


def test_only_solution_regions_change_and_every_mutant_is_valid_python() -> None:
    mutants = generate(MODULE, "lab.py")
    assert {m.function for m in mutants} == {"f"}  # g's `# SOLUTION` line holds nothing to mutate
    for m in mutants:
        ast.parse(m.source)
        changed = [
            line for line in m.diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")
        ]
        assert changed and all("softmax" in line or "return" in line for line in changed)
        assert m.line == 11
    assert len({m.source for m in mutants}) == len(mutants)


def test_ids_survive_moving_lines_and_edits_elsewhere() -> None:
    before = {m.id: m.line for m in generate(MODULE, "lab.py")}
    moved = MODULE.replace('"""Docstring."""', '"""Docstring.\n\n    More words.\n    """')
    after = {m.id: m.line for m in generate(moved, "lab.py")}
    assert before.keys() == after.keys()
    assert all(after[i] == before[i] + 3 for i in before)


def test_only_restricts_to_named_functions() -> None:
    source = MODULE.replace("return x < lr", "### BEGIN SOLUTION\n    return x < lr\n    ### END SOLUTION")
    assert {m.function for m in generate(source, "lab.py", only={"g"})} == {"g"}
