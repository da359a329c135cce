"""The layers of docs/architecture.md, checked against the code's own imports, lazy ones included.

Every import between two of autograder's packages must go down the layers (or stay within one
package), and no two packages may import each other, however indirectly.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "autograder"

# Lowest first. A package may import its own layer's packages or lower ones, never higher.
LAYERS: list[set[str]] = [
    {"__init__", "yamlconf", "config", "layout", "hashing", "notebook"},  # what a course is
    {"sandbox"},  # how untrusted code is started and contained
    {"worker"},  # the boundary: JSON in, JSON out
    {"assets"},  # models and data, resolved offline
    {"grade", "api"},  # one grading: intake, worker, pytest plugin, results.json
    {"gradebook", "feedback", "release", "quiz", "hub", "scaffold"},  # what gradings and courses produce
    {"validate", "mutate", "batch", "nbgrader", "image", "portal"},  # many gradings, other tools
    {"cli"},  # the `course` command
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def package_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def imported_packages(path: Path) -> set[str]:
    """autograder packages this file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
            if node.module == "autograder":  # from autograder import worker
                modules = [f"autograder.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] == "autograder":
                found.add(parts[1] if len(parts) > 1 else "__init__")
    return found


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        source = package_of(path)
        graph.setdefault(source, set()).update(imported_packages(path) - {source})
    return graph


def test_every_package_has_a_layer():
    missing = sorted(set(import_graph()) - set(RANK))
    assert not missing, f"add {missing} to a layer here and in docs/architecture.md"


def test_imports_go_down_the_layers():
    upward = [
        f"{source} (layer {RANK[source]}) imports {target} (layer {RANK[target]})"
        for source, targets in import_graph().items()
        for target in sorted(targets)
        if source in RANK and target in RANK and RANK[target] > RANK[source]
    ]
    assert not upward, "\n".join(upward)


def test_no_two_packages_depend_on_each_other():
    graph = import_graph()

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                todo.extend(graph.get(node, ()))
        return False

    cycles = sorted(f"{a} <-> {b}" for a in graph for b in graph[a] if a < b and reaches(b, a))
    assert not cycles, f"import cycles: {cycles}"


def test_the_architecture_page_names_every_package():
    page = (REPO / "docs" / "architecture.md").read_text()
    missing = [name for name in RANK if name not in ("__init__",) and f"`{name}" not in page]
    assert not missing, f"docs/architecture.md does not mention {missing}"
