"""Every module in course.yaml is proven by `course validate`: the reference earns full marks, the
untouched starter earns 0 with no grader error, every plausible mistake in mistakes.yaml fails the
tests it names. (The release leak check and the quiz banks have their own tests.)

The suite grades the reference on the module's first seed only, to keep CI within its budget on
2 cores; `course validate MODULE` grades every seed in course.yaml, and each training module's
benchmark script reports its margin across seeds."""

from __future__ import annotations

import pytest

from autograder.layout import Layout
from autograder.validate import validate_module
from tests.conftest import REPO

MODULES = [m.id for m in Layout(REPO).course.modules]


@pytest.mark.parametrize("module_id", MODULES)
def test_module_validates(module_id: str, course: Layout, tmp_path) -> None:
    checks = validate_module(course, module_id, tmp_path, seeds=course.course.module(module_id).seeds[:1])
    failed = [f"{c.name}: {c.detail}" for c in checks if not c.ok]
    assert checks and not failed, "\n".join(failed)
