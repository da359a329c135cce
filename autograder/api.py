"""What hidden graders and public checks import. Small on purpose.

from autograder.api import points, visibility, record_metric, load_saved_model

@points(2)
def test_padding_is_masked(student, reference): ...

@extra_credit(2)  # on top of the module's points, when it passes
def test_stretch_goal(student): ...
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from autograder.grade import artifacts
from autograder.grade.plugin import current
from autograder.worker.client import StudentError
from autograder.worker.protocol import same_plain

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

__all__ = [
    "points",
    "extra_credit",
    "visibility",
    "tags",
    "record_metric",
    "load_saved_model",
    "load_saved_tokenizer",
    "load_saved_adapter",
    "load_saved_tensors",
    "read_saved_json",
    "read_saved_text",
    "StudentError",
    "same_plain",
    "training_gap",
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


def _expected(expected: Any) -> Any:
    """An asset name becomes that asset's folder; a folder, dict or config passes through."""
    if isinstance(expected, str):
        return Path(current().fixtures["assets"].path(expected))
    return Path(expected) if isinstance(expected, os.PathLike) else expected


def _copy_limit() -> int:
    """A private copy may be as large as what the worker could write: its disk limit."""
    try:
        return current().student.cfg.limits.disk
    except (RuntimeError, AttributeError):
        return artifacts.MAX_COPY_BYTES


def load_saved_model(
    folder: Path,
    cls: str = "AutoModelForSequenceClassification",
    *,
    expected: Any = None,
    allow: Mapping[str, int] | None = None,
    **kwargs: Any,
) -> PreTrainedModel:
    """Load a model the student's code saved, in the trusted process, as plain data only.

    Refuses pickled weights and custom code: only safetensors, JSON configs and tokenizer files load.
    Before anything is allocated, the config must be the `expected` model's architecture (an asset
    name, a model folder, a config dict or object), with only the settings in `allow` (name -> the
    largest value accepted, e.g. {"num_labels": 9}) differing, and the weights must cover it.
    """
    import transformers

    folder = Path(folder)
    if not folder.is_dir():
        raise StudentError(
            f"no saved model was found at {folder.name}/: call save_pretrained() on that folder"
        )
    with artifacts.private_copy(folder, _copy_limit()) as copy:
        for path in copy.rglob("*"):
            if path.is_file() and path.suffix not in ALLOWED_MODEL_FILES:
                raise StudentError(
                    f"your saved model holds {path.name}; "
                    "only safetensors weights and JSON/text files are accepted "
                    "(save with save_pretrained(), which writes safetensors by default)"
                )
        label = expected if isinstance(expected, str) else "expected"
        artifacts.check_model(copy, cls, _expected(expected), allow, label)
        try:
            model = getattr(transformers, cls).from_pretrained(
                copy, use_safetensors=True, trust_remote_code=False, local_files_only=True, **kwargs
            )
        except Exception as exc:  # noqa: BLE001 - any load failure is the student's to fix
            raise StudentError(
                f"your saved model could not be loaded as {cls}: {type(exc).__name__}: {exc}"
            ) from None
    return model.eval()


def read_saved_json(path: Path) -> Any:
    """A small JSON file the student's code wrote (a config.json), parsed: at most 1 MiB."""
    return artifacts.read_json(Path(path), "the saved file")


def read_saved_text(path: Path, max_bytes: int = artifacts.MAX_JSON_BYTES) -> str:
    """A small text file the student's code wrote (a model card), read whole: at most `max_bytes`."""
    path = Path(path)
    if (size := path.stat().st_size) > max_bytes:
        raise StudentError(f"{path.name} is {size:,} bytes; at most {max_bytes:,} are accepted")
    return path.read_text(encoding="utf-8", errors="replace")


def load_saved_tokenizer(folder: Path, *, expected: Any = None) -> PreTrainedTokenizerBase:
    """Load a tokenizer the student's code saved, after bounding its files by the `expected`
    tokenizer's size (an asset name or folder)."""
    import transformers

    with artifacts.private_copy(Path(folder), _copy_limit()) as copy:
        artifacts.check_tokenizer(copy, _expected(expected))
        try:
            return transformers.AutoTokenizer.from_pretrained(
                copy, trust_remote_code=False, local_files_only=True
            )
        except Exception as exc:  # noqa: BLE001 - the student's folder is the cause
            raise StudentError(
                f"the tokenizer could not be loaded from your saved folder: save it with "
                f"tokenizer.save_pretrained() too ({type(exc).__name__})"
            ) from None


def load_saved_adapter(folder: Path, *, base: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A saved PEFT adapter as plain data (its config and tensors), after checking its rank and
    sizes against the `base` model (an asset name, a folder or a config)."""
    from safetensors.torch import load_file

    with artifacts.private_copy(Path(folder), _copy_limit()) as copy:
        config, _ = artifacts.check_adapter(copy, _expected(base))
        try:
            return config, load_file(str(copy / "adapter_model.safetensors"))
        except Exception as exc:  # noqa: BLE001 - a broken file is the student's to fix
            raise StudentError(f"your adapter_model.safetensors does not load: {exc}") from None


def load_saved_tensors(path: Path, *, expected: Any, cls: str = "AutoModel") -> dict[str, Any]:
    """The tensors of one safetensors file the student produced (a pushed upload, a saved head),
    after its header shows it is no more than the `expected` model's weights."""
    from safetensors.torch import load_file

    config = artifacts.load_config(_expected(expected), "the expected config")
    with artifacts.private_copy(Path(path), _copy_limit()) as copy:
        declared = artifacts.safetensors_header(copy)
        artifacts.check_size(artifacts.meta_model(config, cls), artifacts.data_bytes(declared))
        try:
            return load_file(str(copy))
        except Exception as exc:  # noqa: BLE001 - a broken file is the student's to fix
            raise StudentError(f"{copy.name} does not load: {exc}") from None


def training_gap(trained: Mapping[str, Any], wanted: Mapping[str, Any], start: Mapping[str, Any]) -> float:
    """How far a student's trained weights are from a correct training's (`wanted`, the reference's
    run with the same arguments), as a share of how far that training moved from `start`. A weight
    `start` lacks (a new head) counts from zero; one `trained` lacks or shapes otherwise counts whole.
    One training run twice is ~0 apart; another seed, learning rate or batch order is about half as
    far apart as the run moved, or more (0.5 to 1.1 in modules 7 to 9)."""
    apart = moved = 0.0
    for name, want in wanted.items():
        target = want.double()
        got, base = trained.get(name), start.get(name)
        if got is not None and tuple(got.shape) == tuple(want.shape):
            apart += float((target - got.double()).pow(2).sum())
        else:
            apart += float(target.pow(2).sum())
        moved += (
            float((target - base.double()).pow(2).sum()) if base is not None else float(target.pow(2).sum())
        )
    if not moved:
        return 0.0 if not apart else math.inf
    return math.sqrt(apart / moved)
