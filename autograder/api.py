"""What hidden graders and public checks import. Small on purpose.

from autograder.api import points, visibility, record_metric, load_saved_model

@points(2)
def test_padding_is_masked(student, reference): ...

@extra_credit(2)  # on top of the module's points, when it passes
def test_stretch_goal(student): ...
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from autograder.grade.plugin import current
from autograder.worker.client import StudentError
from autograder.worker.protocol import same_plain

__all__ = [
    "points",
    "extra_credit",
    "visibility",
    "tags",
    "record_metric",
    "load_saved_model",
    "StudentError",
    "same_plain",
]

points = pytest.mark.points
extra_credit = pytest.mark.extra_credit
visibility = pytest.mark.visibility
tags = pytest.mark.tags

ALLOWED_MODEL_FILES = {".json", ".safetensors", ".txt", ".model", ".md", ".png", ".jinja"}


def record_metric(name: str, value: float, leaderboard: bool = False, order: str = "desc") -> None:
    """Report a measured figure in results.json extra_data.metrics (and on the leaderboard)."""
    ctx = current()
    ctx.metrics[name] = value
    if leaderboard:
        board = [e for e in ctx.results.leaderboard if e["name"] != name]
        ctx.results.leaderboard = [*board, {"name": name, "value": value, "order": order}]
    ctx.save()


def load_saved_model(folder: Path, cls: str = "AutoModelForSequenceClassification", **kwargs: Any):
    """Load a model the student's code saved, in the trusted process, as plain data only.

    Refuses pickled weights and custom code: only safetensors, JSON configs and tokenizer files load.
    """
    import transformers

    folder = Path(folder)
    if not folder.is_dir():
        raise StudentError(
            f"no saved model was found at {folder.name}/: call save_pretrained() on that folder"
        )
    for path in folder.rglob("*"):
        if path.is_symlink():
            raise StudentError(f"{path.name} in your saved model is a symbolic link")
        if path.is_file() and path.suffix not in ALLOWED_MODEL_FILES:
            raise StudentError(
                f"your saved model holds {path.name}; only safetensors weights and JSON/text files are accepted "
                "(save with save_pretrained(), which writes safetensors by default)"
            )
    if not list(folder.glob("*.safetensors")):
        raise StudentError(
            f"{folder.name}/ has no .safetensors weights: save the model with save_pretrained()"
        )
    config = json.loads((folder / "config.json").read_text()) if (folder / "config.json").exists() else {}
    if "auto_map" in config:
        raise StudentError(
            "your saved config asks for custom code (auto_map); save a standard transformers model"
        )
    try:
        model = getattr(transformers, cls).from_pretrained(
            folder, use_safetensors=True, trust_remote_code=False, local_files_only=True, **kwargs
        )
    except Exception as exc:  # noqa: BLE001 - any load failure is the student's to fix
        raise StudentError(
            f"your saved model could not be loaded as {cls}: {type(exc).__name__}: {exc}"
        ) from None
    return model.eval()
