"""Every module in course.yaml is proven by `course validate`: the reference earns full marks, the
untouched starter earns 0 with no grader error, every plausible mistake in mistakes.yaml fails the
tests it names. (The release leak check and the quiz banks have their own tests.)

The suite grades the reference on the module's first seed only, to keep CI within its budget on
2 cores; `course validate MODULE` grades every seed in course.yaml, and each training module's
benchmark script reports its margin across seeds."""

from __future__ import annotations

import pytest

from autograder.layout import Layout
from autograder.validate import Check
from tests.conftest import MODULE_GRADINGS, REPO

MODULES = [m.id for m in Layout(REPO).course.modules]


@pytest.fixture(scope="module")
def validated(request: pytest.FixtureRequest) -> dict[str, list[Check]]:
    """The selected modules' gradings in one pool of two (as `course validate` runs them), started at
    collection beside the rest of the suite (tests/conftest.py): the first test waits for them all."""
    return request.config.stash[MODULE_GRADINGS].result()


@pytest.mark.parametrize("module_id", MODULES)
def test_module_validates(module_id: str, validated: dict[str, list[Check]]) -> None:
    checks = validated[module_id]
    failed = [f"{c.name}: {c.detail}" for c in checks if not c.ok]
    assert checks and not failed, "\n".join(failed)
