"""Messages between the trusted grader and the student worker: one JSON object per line.

Arguments that cannot be JSON (tokenizers, models, paths inside the sandbox) cross as references
that the worker resolves on its own side: {"__ref__": "tokenizer", "name": "minilm"}.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_MESSAGE = 64 * 1024 * 1024  # a reply larger than this is refused
REF = "__ref__"


class ProtocolError(Exception):
    """The worker sent something that is not a well-formed reply."""


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, allow_nan=True, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    if len(line) > MAX_MESSAGE:
        raise ProtocolError(f"reply of {len(line)} bytes is larger than the {MAX_MESSAGE} byte limit")
    try:
        message = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"reply is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError("reply is not a JSON object")
    return message


def ref(kind: str, **fields: Any) -> dict[str, Any]:
    return {REF: kind, **fields}


def is_ref(value: Any) -> bool:
    return isinstance(value, dict) and REF in value


def to_plain(value: Any, where: str = "the return value") -> Any:
    """Convert common student return types (tensors, arrays, tuples, BatchEncoding) to JSON values.

    Runs on the student's side: anything it cannot convert is reported, never pickled.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if hasattr(value, "tolist") and callable(value.tolist):  # torch.Tensor, numpy arrays and scalars
        return to_plain(value.tolist(), where)
    if isinstance(value, dict) or (hasattr(value, "keys") and hasattr(value, "__getitem__")):
        out = {}
        for key in list(value.keys()):
            if not isinstance(key, str | int):
                raise TypeError(f"{where} has a key of type {type(key).__name__}; use str keys")
            out[str(key)] = to_plain(value[key], f"{where}[{key!r}]")
        return out
    if isinstance(value, list | tuple):
        return [to_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise TypeError(
        f"{where} is a {type(value).__module__}.{type(value).__name__}, which cannot be graded; "
        "return plain values (numbers, strings, lists, dicts)"
    )


def same_plain(a: Any, b: Any, rel: float = 0.0, abs_: float = 0.0) -> bool:
    """Structural equality of JSON values, with optional float tolerance. NaN never equals anything."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        if math.isnan(a) or math.isnan(b):
            return False
        return math.isclose(a, b, rel_tol=rel, abs_tol=abs_) if (rel or abs_) else a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_plain(x, y, rel, abs_) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_plain(a[k], b[k], rel, abs_) for k in a)
    return type(a) is type(b) and a == b
