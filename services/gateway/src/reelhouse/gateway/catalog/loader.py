"""The model catalogue: which models this deployment offers and the input each accepts.

The data lives in ``models.json`` beside this module; every entry carries a JSON
Schema (Draft 2020-12) for its ``input``. Loading checks each schema, so a bad
catalogue fails at start-up rather than on the first request.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

CATALOGUE_RESOURCE = "models.json"

Kind = Literal["text-to-video", "image-to-video", "text-to-image"]


@dataclass(frozen=True, slots=True)
class InputError:
    """One reason the input does not fit the model's schema; ``path`` is dotted from ``input``."""

    path: str
    message: str


class InvalidInputError(Exception):
    def __init__(self, errors: list[InputError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.path}: {e.message}" for e in errors))


@dataclass(frozen=True, slots=True)
class CatalogModel:
    id: str
    provider: str
    provider_model: str
    kind: Kind
    output: Literal["video", "image", "audio"]
    description: str
    input_schema: Mapping[str, Any]
    _validator: Draft202012Validator = field(repr=False, compare=False)

    def prepare_input(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """The input with schema defaults filled in, or ``InvalidInputError`` listing every fault."""
        prepared = with_defaults(self.input_schema, raw)
        found = {err for e in self._validator.iter_errors(prepared) for err in input_errors(e)}
        found.update(nul_errors(prepared))
        errors = sorted(found, key=lambda e: (e.path, e.message))
        if errors:
            raise InvalidInputError(errors)
        return prepared


class Catalog:
    def __init__(self, models: list[CatalogModel]) -> None:
        self._models = {m.id: m for m in models}

    def get(self, model_id: str) -> CatalogModel | None:
        return self._models.get(model_id)

    def __iter__(self) -> Iterator[CatalogModel]:
        return iter(self._models.values())

    def __len__(self) -> int:
        return len(self._models)


def with_defaults(schema: Mapping[str, Any], raw: Mapping[str, Any]) -> dict[str, Any]:
    """Copy ``raw`` and add the top-level ``default`` of every property it leaves out."""
    prepared = copy.deepcopy(dict(raw))
    for name, prop in (schema.get("properties") or {}).items():
        if name not in prepared and isinstance(prop, Mapping) and "default" in prop:
            prepared[name] = copy.deepcopy(prop["default"])
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
    return [InputError(path=where, message=error.message)]


def _model_from(entry: Mapping[str, Any]) -> CatalogModel:
    schema = entry["input_schema"]
    Draft202012Validator.check_schema(schema)
    return CatalogModel(
        id=entry["id"],
        provider=entry["provider"],
        provider_model=entry["provider_model"],
        kind=entry["kind"],
        output=entry["output"],
        description=entry.get("description", ""),
        input_schema=schema,
        _validator=Draft202012Validator(schema),
    )


def parse_catalog(data: Mapping[str, Any]) -> Catalog:
    return Catalog([_model_from(entry) for entry in data["models"]])


def load_catalog() -> Catalog:
    """The catalogue shipped with the gateway (``catalog/models.json``)."""
    text = (
        resources.files("reelhouse.gateway.catalog").joinpath(CATALOGUE_RESOURCE).read_text("utf-8")
    )
    return parse_catalog(json.loads(text))
