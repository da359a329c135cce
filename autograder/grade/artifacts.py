"""Checks on what a student's code saved, before the trusted grader loads any of it.

A saved model is a config plus weights, and the config decides how much memory loading takes:
a folder of a few kilobytes whose config.json declares a huge architecture makes transformers
allocate (and randomly initialise) gigabytes in the grader's own process. So before anything is
allocated, the config must describe the model the module expects (same model_type and dimensions
as the reference or base model, within the allowances the grader passes), and the safetensors
files, read by their headers only, must cover that model. Tokenizers, generation configs and
adapters get size bounds of the same kind. Everything is checked on a private copy, so the
student's still-running worker cannot swap a file between the check and the load.

A module's specifics stay in its graders: they pass the expected model (an asset name, a folder,
a config) and the allowances (e.g. `{"num_labels": 10}`); this module stays generic.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import struct
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder.worker.client import StudentError

if TYPE_CHECKING:  # imported where used: the trusted side loads transformers only to check
    from transformers import PretrainedConfig, PreTrainedModel

MAX_JSON_BYTES = 1024**2  # config.json, generation_config.json, adapter_config.json, ...
MAX_HEADER_BYTES = 16 * 1024**2  # a safetensors header (SmolLM2's is 30 KB)
MAX_COPY_BYTES = 8 * 1024**3  # what one private copy may take on disk
UNCOVERED_SHARE = 0.01  # of the model's parameters, at most, left for transformers to initialise
BYTES_PER_PARAMETER = 8  # float64 at most: weights beyond that are not this model's
MAX_LAYERS_UNCHECKED = 256  # without an expected model, a layer count above this is refused
TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "tokenizer.model",
    "spiece.model",
    "sentencepiece.bpe.model",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "chat_template.jinja",
)
MAX_TOKENIZER_BYTES = 64 * 1024**2  # all tokenizer files together, without an expected tokenizer
GENERATION_BOUNDS = {"num_beams": 16, "num_return_sequences": 16, "num_beam_groups": 16}
MAX_ADAPTER_RANK = 256
DTYPE_BYTES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "U16": 2,
    "I16": 2,
    "F16": 2,
    "BF16": 2,
    "U32": 4,
    "I32": 4,
    "F32": 4,
    "U64": 8,
    "I64": 8,
    "F64": 8,
}


@dataclass(frozen=True)
class Tensor:
    dtype: str
    shape: tuple[int, ...]

    @property
    def numel(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


def read_json(path: Path, what: str) -> Any:
    """A small JSON file, parsed; too large or broken is the student's message."""
    try:
        size = path.stat().st_size
    except OSError:
        raise StudentError(f"{what} ({path.name}) is missing") from None
    if size > MAX_JSON_BYTES:
        raise StudentError(f"{what} ({path.name}) is {size:,} bytes; at most {MAX_JSON_BYTES:,} are accepted")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise StudentError(f"{what} ({path.name}) is not valid JSON ({exc})") from None


def safetensors_header(path: Path) -> dict[str, Tensor]:
    """The tensors a safetensors file declares, read from its header alone (no data is loaded)."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise StudentError(f"{path.name} is not a safetensors file (too short)")
        (length,) = struct.unpack("<Q", head)
        if length > MAX_HEADER_BYTES or 8 + length > size:
            raise StudentError(
                f"{path.name} has a safetensors header of {length:,} bytes: the file is broken"
            )
        raw = fh.read(length)
    try:
        header = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise StudentError(f"{path.name} is not a safetensors file (unreadable header)") from None
    if not isinstance(header, dict):
        raise StudentError(f"{path.name} is not a safetensors file (unreadable header)")
    tensors: dict[str, Tensor] = {}
    data = size - 8 - length
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            tensor = Tensor(str(info["dtype"]), tuple(int(d) for d in info["shape"]))
            begin, end = (int(o) for o in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise StudentError(f"{path.name}: the entry for {name} is malformed") from None
        width = DTYPE_BYTES.get(tensor.dtype)
        if width is None or any(d < 0 for d in tensor.shape):
            raise StudentError(f"{path.name}: {name} has an unknown dtype or a negative dimension")
        if not 0 <= begin <= end <= data or end - begin != tensor.numel * width:
            raise StudentError(f"{path.name}: {name}'s data does not fit the file (a truncated save?)")
        tensors[name] = tensor
    return tensors


def data_bytes(tensors: dict[str, Tensor]) -> int:
    return sum(t.numel * DTYPE_BYTES[t.dtype] for t in tensors.values())


def saved_tensors(folder: Path) -> dict[str, Tensor]:
    """Every tensor declared by the folder's safetensors files."""
    tensors: dict[str, Tensor] = {}
    for path in sorted(folder.glob("*.safetensors")):
        tensors.update(safetensors_header(path))
    return tensors


def _copy_file(src: Path, dest: Path, budget: list[int]) -> None:
    st = src.lstat()
    if not stat.S_ISREG(st.st_mode):
        raise StudentError(f"{src.name} in your saved folder is not a regular file (a link?)")
    fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as fin, open(dest, "wb") as fout:
        while chunk := fin.read(1024**2):
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise StudentError("what your code saved takes more disk space than the worker may write")
            fout.write(chunk)


@contextlib.contextmanager
def private_copy(source: Path, max_bytes: int = MAX_COPY_BYTES) -> Iterator[Path]:
    """A copy of a student's folder (or file) the worker cannot touch: checked and loaded from there,
    so a file swapped or truncated by a still-running student thread changes nothing (and cannot
    crash a memory-mapped load). Regular files only; links and special files are refused."""
    source = Path(source)
    budget = [max_bytes]
    with tempfile.TemporaryDirectory(prefix="course-artifact-") as tmp:
        dest = Path(tmp) / source.name
        if source.is_file() and not source.is_symlink():
            _copy_file(source, dest, budget)
            yield dest
            return
        if not source.is_dir() or source.is_symlink():
            raise StudentError(f"nothing was saved at {source.name}: call save_pretrained() there")
        dest.mkdir()
        for src in sorted(source.rglob("*")):
            rel = src.relative_to(source)
            if src.is_dir() and not src.is_symlink():
                (dest / rel).mkdir(parents=True, exist_ok=True)
            else:
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                _copy_file(src, dest / rel, budget)
        yield dest


def load_config(source: Any, what: str = "your saved config") -> PretrainedConfig:
    """A transformers config from a folder, a dict or a config object. Never runs custom code."""
    import transformers

    if isinstance(source, transformers.PretrainedConfig):
        return source
    if isinstance(source, Path):
        data = read_json(source / "config.json", what)
    else:
        data = source
    if not isinstance(data, dict) or not isinstance(data.get("model_type"), str):
        raise StudentError(f"{what} has no model_type: save the model with save_pretrained()")
    if "auto_map" in data:
        raise StudentError(f"{what} asks for custom code (auto_map); save a standard transformers model")
    data = dict(data)
    try:
        return transformers.AutoConfig.for_model(data.pop("model_type"), **data)
    except Exception as exc:  # noqa: BLE001 - an unknown model type or a bad value is the student's
        raise StudentError(f"{what} cannot be read: {type(exc).__name__}: {exc}") from None


def _dimensions(config: PretrainedConfig) -> dict[str, int]:
    """The integer settings that size a model (token ids excluded: they size nothing)."""
    dims = {
        key: value
        for key, value in config.to_dict().items()
        if isinstance(value, int)
        and not isinstance(value, bool)
        and not key.endswith(("token_id", "_id"))
        and key != "chunk_size_feed_forward"
    }
    dims["num_labels"] = config.num_labels
    return dims


def compare_configs(
    saved: PretrainedConfig,
    expected: PretrainedConfig,
    allow: Mapping[str, int] | None = None,
    label: str = "expected",
) -> None:
    """The saved config must be the expected architecture: same model_type, same dimensions. `allow`
    maps a setting that may differ to the largest value it may take (e.g. {"num_labels": 10})."""
    allow = dict(allow or {})
    if saved.model_type != expected.model_type:
        raise StudentError(
            f"your saved config says model_type {saved.model_type!r}; "
            f"the {label} model is {expected.model_type!r}"
        )
    got, want = _dimensions(saved), _dimensions(expected)
    for key, value in want.items():
        have = got.get(key)
        if key in allow:
            if isinstance(have, int) and 0 < have <= allow[key]:
                continue
            raise StudentError(f"your saved config says {key} {have}; at most {allow[key]} is expected")
        if have != value:
            raise StudentError(f"your saved config says {key} {have}; the {label} model has {value}")
    for key, sub in expected.to_dict().items():  # encoder-decoder and multimodal configs nest
        if isinstance(sub, dict) and "model_type" in sub:
            mine = getattr(saved, key, None)
            if mine is None or not hasattr(mine, "model_type"):
                raise StudentError(f"your saved config has no {key}; the {label} model has one")
            compare_configs(mine, getattr(expected, key), allow, label)


def _bounded_without_expected(config: PretrainedConfig) -> None:
    for key, value in _dimensions(config).items():
        if "layer" in key and value > MAX_LAYERS_UNCHECKED:
            raise StudentError(
                f"your saved config says {key} {value}; at most {MAX_LAYERS_UNCHECKED} are accepted"
            )


def meta_model(config: PretrainedConfig, cls: str) -> PreTrainedModel:
    """The model `config` describes, built on the meta device: names and shapes, no memory."""
    import torch
    import transformers

    try:
        with torch.device("meta"):
            return getattr(transformers, cls).from_config(config)
    except Exception as exc:  # noqa: BLE001 - a config transformers cannot build is the student's
        raise StudentError(
            f"your saved config does not describe a {cls}: {type(exc).__name__}: {exc}"
        ) from None


def check_coverage(model: PreTrainedModel, tensors: dict[str, Tensor]) -> None:
    """The saved tensors must hold (nearly) every parameter, and no more bytes than such a model takes."""
    params = {name: p.numel() for name, p in model.named_parameters()}  # tied weights counted once
    total = sum(params.values())
    prefix = f"{model.base_model_prefix}." if model.base_model_prefix else ""
    names = set(tensors)

    def saved(name: str) -> bool:
        return name in names or name.removeprefix(prefix) in names or f"{prefix}{name}" in names

    missing = [name for name in params if not saved(name)]
    uncovered = sum(params[name] for name in missing)
    if uncovered > UNCOVERED_SHARE * total:
        raise StudentError(
            f"your saved weights leave {uncovered:,} of the model's {total:,} parameters to be "
            f"initialised (e.g. {missing[0]}): save the whole model with save_pretrained()"
        )
    check_size(model, data_bytes(tensors))


def check_size(model: PreTrainedModel, data_bytes: int) -> None:
    """Weights take no more bytes than `model`'s parameters in float64."""
    total = sum(p.numel() for p in model.parameters())
    bound = BYTES_PER_PARAMETER * total + MAX_HEADER_BYTES
    if data_bytes > bound:
        raise StudentError(
            f"your saved weights hold {data_bytes:,} bytes; "
            f"a model of {total:,} parameters takes at most {bound:,}"
        )


def check_generation_config(folder: Path, config: PretrainedConfig) -> None:
    """generation_config.json steers generate(): no more tokens than the model has positions, few beams."""
    path = folder / "generation_config.json"
    if not path.exists():
        return
    data = read_json(path, "your saved generation config")
    if not isinstance(data, dict):
        raise StudentError("your saved generation_config.json must hold a JSON object")
    positions = (
        getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None) or 4096
    )
    bounds = {"max_length": positions, "max_new_tokens": positions, **GENERATION_BOUNDS}
    for key, bound in bounds.items():
        value = data.get(key)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= bound
        ):
            raise StudentError(
                f"your saved generation config says {key} {value!r}; at most {bound} is accepted"
            )


def check_model(
    folder: Path,
    cls: str,
    expected: Any = None,
    allow: Mapping[str, int] | None = None,
    label: str = "expected",
) -> PretrainedConfig:
    """Everything about a saved model folder that decides the memory loading it takes; returns its config.
    `expected` is the config (or config-like) the model must match; None checks coverage alone."""
    if not list(folder.glob("*.safetensors")):
        raise StudentError(
            f"{folder.name}/ has no .safetensors weights: save the model with save_pretrained()"
        )
    config = load_config(folder)
    if expected is not None:
        compare_configs(config, load_config(expected, f"the {label} config"), allow, label)
    else:
        _bounded_without_expected(config)
    tensors = saved_tensors(folder)
    check_coverage(meta_model(config, cls), tensors)
    check_generation_config(folder, config)
    return config


def tokenizer_bytes(folder: Path) -> int:
    return sum((folder / name).stat().st_size for name in TOKENIZER_FILES if (folder / name).is_file())


def check_tokenizer(folder: Path, expected: Path | None = None) -> None:
    """Tokenizer files are parsed whole (a vocabulary of millions of entries is gigabytes of Python
    objects): at most twice the expected tokenizer's size plus 1 MiB, or 64 MiB without one."""
    got = tokenizer_bytes(folder)
    if got == 0:
        raise StudentError(
            f"{folder.name}/ holds no tokenizer files: save the tokenizer with save_pretrained()"
        )
    bound = 2 * tokenizer_bytes(expected) + 1024**2 if expected is not None else MAX_TOKENIZER_BYTES
    if got > bound:
        raise StudentError(f"your saved tokenizer files take {got:,} bytes; at most {bound:,} are accepted")
    for name in ("tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"):
        if (folder / name).exists():
            read_json(folder / name, "your saved tokenizer")


def check_adapter(
    folder: Path, base: Any, max_rank: int = MAX_ADAPTER_RANK
) -> tuple[dict[str, Any], dict[str, Tensor]]:
    """A PEFT adapter: a small config, a bounded rank, and LoRA matrices no larger than the rank
    allows on the base model's dimensions. Returns the adapter's config and declared tensors."""
    config = read_json(folder / "adapter_config.json", "your saved adapter config")
    if not isinstance(config, dict):
        raise StudentError("your adapter_config.json must hold a JSON object")
    rank = config.get("r")
    if not isinstance(rank, int) or isinstance(rank, bool) or not 0 < rank <= max_rank:
        raise StudentError(f"your adapter's rank r is {rank!r}; at most {max_rank} is accepted")
    path = folder / "adapter_model.safetensors"
    if not path.is_file():
        raise StudentError(f"{folder.name}/ has no adapter_model.safetensors: save it with save_pretrained()")
    tensors = safetensors_header(path)
    base_config = load_config(base, "the base model's config")
    largest = max(v for k, v in _dimensions(base_config).items() if "layer" not in k)
    base_parameters = sum(p.numel() for p in meta_model(base_config, "AutoModel").parameters())
    if data_bytes(tensors) > 4 * base_parameters:
        raise StudentError(
            f"your adapter holds {data_bytes(tensors):,} bytes, more than the whole base model in float32"
        )
    for name, tensor in tensors.items():
        if (
            len(tensor.shape) > 2
            or any(d > largest for d in tensor.shape)
            or (len(tensor.shape) == 2 and rank not in tensor.shape)
        ):
            raise StudentError(
                f"your adapter's {name} has shape {list(tensor.shape)}; a rank-{rank} adapter of this "
                "base model has none like it"
            )
    return config, tensors
