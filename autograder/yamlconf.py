"""Load YAML into pydantic models, with errors that name the key path and the file line."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
# libyaml's safe loader where PyYAML was built with it: 10x faster, same documents and line marks.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
KeyPath = tuple[str | int, ...]  # a key path in a YAML document: mapping keys and list indexes


class HasErrors(Protocol):
    """A pydantic ValidationError, or a wrapper that rewrites its errors (the quiz bank's)."""

    def errors(self) -> Sequence[Mapping[str, Any]]: ...


class ConfigError(Exception):
    """A configuration file is invalid. The message is meant for the instructor as is."""


def _line_map(
    node: yaml.Node, path: KeyPath = (), out: dict[KeyPath, int] | None = None
) -> dict[KeyPath, int]:
    """Map every key path in a composed YAML document to its 1-based line number."""
    out = {} if out is None else out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, key.value)
            out[child] = key.start_mark.line + 1
            _line_map(value, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, (*path, i), out)
    return out


def _nearest_line(lines: dict[KeyPath, int], loc: KeyPath) -> int | None:
    for end in range(len(loc), -1, -1):
        key = tuple(str(p) if not isinstance(p, int) else p for p in loc[:end])
        if key in lines:
            return lines[key]
    return None


def load_yaml(path: Path) -> tuple[object, dict[KeyPath, int]]:
    """Parse a YAML file; return its data and a map from key paths to line numbers."""
    try:
        text = path.read_text(encoding="utf-8")
        loader = LOADER(text)
        try:  # one parse: the node tree gives the line numbers, and the data is built from it
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        try:
            yaml.safe_load(text)  # PyYAML's own parser words its errors better ("expected ',' or ']'")
        except yaml.YAMLError as worded:
            raise _invalid(path, worded) from worded
        raise _invalid(path, exc) from exc
    return data, (_line_map(node) if node is not None else {})


def _invalid(path: Path, exc: yaml.YAMLError) -> ConfigError:
    mark = getattr(exc, "problem_mark", None)
    where = f"{path}:{mark.line + 1}" if mark else str(path)
    return ConfigError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}")


def _field_at(model: type[BaseModel] | None, loc: KeyPath) -> object:
    """The annotation of the field at `loc` inside `model`, or None where the path leaves the models."""
    annotation: object = model
    for part in loc:
        origin = getattr(annotation, "__origin__", None)
        args = getattr(annotation, "__args__", ())
        if isinstance(part, int) or (origin is dict and args):
            annotation = args[-1] if args else None  # list[X] / dict[str, X]: step into X
        elif (
            isinstance(annotation, type)
            and issubclass(annotation, BaseModel)
            and part in annotation.model_fields
        ):
            annotation = annotation.model_fields[part].annotation
        else:
            return None
    return annotation


def _missing(loc: KeyPath, model: type[BaseModel] | None) -> str:
    """`missing "course:" (id and title)`, or `modules.0.points: missing "points:"` for a nested key:
    what the key holds is named from the model itself."""
    text = f'missing "{loc[-1]}:"'
    if len(loc) > 1:
        text = f"{'.'.join(str(p) for p in loc)}: {text}"
    field = _field_at(model, loc)
    if isinstance(field, type) and issubclass(field, BaseModel):
        needed = [name for name, f in field.model_fields.items() if f.is_required()]
        if needed:
            text += f" ({' and '.join(needed)})"
    return text


def format_validation_error(
    path: Path,
    exc: HasErrors,
    lines: dict[KeyPath, int],
    model: type[BaseModel] | None = None,
    docs: str | None = None,
) -> str:
    """One line per problem: `file:line: key.path: what is wrong[: see docs#section]`."""
    messages = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        key = ".".join(str(p) for p in loc) or "(top level)"
        line = _nearest_line(lines, loc) or 1
        problem = _missing(loc, model) if err["type"] == "missing" and loc else f"{key}: {err['msg']}"
        section = next((p for p in loc if isinstance(p, str)), "")
        fix = f": see {docs}#{section}" if docs and section else f": see {docs}" if docs else ""
        messages.append(f"{path}:{line}: {problem}{fix}")
    return "\n".join(messages)


def load_model(path: Path, model: type[M], docs: str | None = None) -> M:
    """Load and validate `path` as `model`, raising ConfigError with file:line on every problem.

    `docs` names the page that explains the file (e.g. docs/authoring.md): each error points at its
    section, named after the top-level key.
    """
    data, lines = load_yaml(path)
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{path}:1: expected keys such as `key: value`, found {type(data).__name__}")
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(path, exc, lines, model, docs)) from None
