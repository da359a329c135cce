"""Every module in course.yaml is proven by `course validate`: the reference earns full marks on
each of its seeds, the untouched starter earns 0 with no grader error, and every plausible
mistake in mistakes.yaml fails the tests it names."""

from __future__ import annotations

import pytest

from autograder.layout import Layout
from autograder.validate import validate_module
from tests.conftest import REPO

MODULES = [m.id for m in Layout(REPO).course.modules]


@pytest.mark.parametrize("module_id", MODULES)
def test_module_validates(module_id: str, course: Layout, tmp_path) -> None:
    checks = validate_module(course, module_id, tmp_path)
    failed = [f"{c.name}: {c.detail}" for c in checks if not c.ok]
    assert checks and not failed, "\n".join(failed)
