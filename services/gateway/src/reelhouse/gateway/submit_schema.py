"""The submit body in OpenAPI as exactly what the gateway accepts: one variant per model.

``GenerationCreate`` in Python takes any ``model`` and any ``input`` object, which the
catalogue then checks; an OpenAPI document saying only that would call requests valid that
the gateway refuses (a client, or schemathesis, cannot tell). So the document's
``GenerationCreate`` is a ``oneOf`` with one variant per catalogue model: ``model`` is that
model's id (``const``) and ``input`` its own input schema, where strings may hold no NUL
character (no database column takes one), and ``deadline_seconds`` tops out at this
deployment's maximum.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from reelhouse.gateway.catalog.loader import CatalogModel

SCHEMA_NAME = "GenerationCreate"
NO_NUL = "^[^\\u0000]*$"


def no_nul_strings(schema: Any) -> Any:
    """A copy of ``schema`` in which every free-form string refuses NUL characters."""
    if isinstance(schema, list):
        return [no_nul_strings(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: no_nul_strings(value) for key, value in schema.items()}
    types = out.get("type")
    is_string = types == "string" or (isinstance(types, list) and "string" in types)
    if is_string and not ({"pattern", "enum", "const"} & out.keys()):
        out["pattern"] = NO_NUL
    return out


def _variant(base: dict[str, Any], model: CatalogModel) -> dict[str, Any]:
    variant = copy.deepcopy(base)
    for key in ("examples", "description", "title"):
        variant.pop(key, None)
    properties = variant.setdefault("properties", {})
    properties["model"] = {"type": "string", "const": model.id, "description": model.description}
    properties["input"] = no_nul_strings(dict(model.input_schema))
    required = set(variant.get("required", [])) | {"model"}
    if model.input_schema.get("required"):
        required.add("input")
    variant["required"] = sorted(required)
    variant["title"] = model.id
    return variant


def describe_submit(
    document: dict[str, Any], *, models: Iterable[CatalogModel], max_deadline_seconds: int
) -> None:
    """Replace the document's ``GenerationCreate`` by one variant per model."""
    schemas = document.get("components", {}).get("schemas", {})
    base = schemas.get(SCHEMA_NAME)
    if base is None:
        return
    base = copy.deepcopy(base)
    deadline = base.get("properties", {}).get("deadline_seconds")
    if deadline is not None:
        for option in deadline.get("anyOf", [deadline]):
            if option.get("type") == "integer":
                option["maximum"] = max_deadline_seconds
    variants = [_variant(base, model) for model in models]
    if not variants:
        return
    schemas[SCHEMA_NAME] = {
        "title": base.get("title", SCHEMA_NAME),
        "description": base.get("description", ""),
        "oneOf": variants,
        **({"examples": base["examples"]} if "examples" in base else {}),
    }
