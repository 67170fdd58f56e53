"""Checking a request's ``input`` against a model's JSON Schema, fault by fault.

Every fault names the offending field as a dotted path from ``input``
(``input.duration``), including unknown and missing fields, which jsonschema
itself reports on the enclosing object.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import ValidationError


@dataclass(frozen=True, slots=True)
class InputError:
    """One reason the input does not fit the model's schema; ``path`` is dotted from ``input``."""

    path: str
    message: str


class InvalidInputError(Exception):
    def __init__(self, errors: list[InputError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.path}: {e.message}" for e in errors))


def schema_defaults(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The top-level ``default`` of every property that declares one."""
    return {
        name: copy.deepcopy(prop["default"])
        for name, prop in (schema.get("properties") or {}).items()
        if isinstance(prop, Mapping) and "default" in prop
    }


def with_defaults(schema: Mapping[str, Any], raw: Mapping[str, Any]) -> dict[str, Any]:
    """Copy ``raw`` and add the top-level ``default`` of every property it leaves out."""
    prepared = copy.deepcopy(dict(raw))
    for name, value in schema_defaults(schema).items():
        prepared.setdefault(name, value)
    return prepared


def nul_errors(value: Any, path: str = "input") -> list[InputError]:
    """Strings (or keys) holding NUL characters, which no database column will take."""
    if isinstance(value, str):
        return (
            [InputError(path=path, message="must not contain NUL characters")]
            if "\x00" in value
            else []
        )
    if isinstance(value, Mapping):
        errors: list[InputError] = []
        for key, item in value.items():
            if "\x00" in str(key):
                errors.append(InputError(path=path, message="keys must not contain NUL characters"))
            errors.extend(nul_errors(item, f"{path}.{key}"))
        return errors
    if isinstance(value, list):
        return [err for i, item in enumerate(value) for err in nul_errors(item, f"{path}.{i}")]
    return []


def _dotted(prefix: str, parts: Any) -> str:
    return ".".join([prefix, *(str(p) for p in parts)])


def input_errors(error: ValidationError, *, prefix: str = "input") -> list[InputError]:
    """A jsonschema error → field errors that point at the offending field itself.

    ``additionalProperties`` and ``required`` are reported by jsonschema on the
    enclosing object; here they name the unknown or missing field instead.
    """
    where = _dotted(prefix, error.absolute_path)
    instance = error.instance
    if error.validator == "additionalProperties" and isinstance(instance, Mapping):
        known = set(
            (error.schema.get("properties") or {}) if isinstance(error.schema, Mapping) else ()
        )
        return [
            InputError(path=f"{where}.{name}", message="unknown field")
            for name in sorted(set(instance) - known)
        ]
    if error.validator == "required" and isinstance(instance, Mapping):
        required = error.validator_value if isinstance(error.validator_value, list) else []
        return [
            InputError(path=f"{where}.{name}", message="field required")
            for name in required
            if name not in instance
        ]
    return [InputError(path=where, message=_short_message(error))]


# jsonschema quotes the offending value whole (``'<10 MB>' is too long``): quote a prefix
QUOTED_PREFIX_CHARS = 40


def _short_message(error: ValidationError) -> str:
    quoted = repr(error.instance)
    if len(quoted) <= QUOTED_PREFIX_CHARS or quoted not in error.message:
        return error.message
    return error.message.replace(quoted, quoted[:QUOTED_PREFIX_CHARS] + "…")
