"""The composition body in OpenAPI as exactly what the gateway accepts (see ``submit_schema``).

A scene is a ``oneOf`` with one variant per video model: ``model`` its id, ``input`` its own
input schema, and ``duration`` that model's own range (left out of ``input``, where the two
could disagree; a model without an integer duration has no ``duration``). A score's
``model`` is one of the audio models. ``deadline_seconds`` tops out at this deployment's
maximum.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from reelhouse.gateway.catalog.loader import CatalogModel
from reelhouse.gateway.submit_schema import NO_NUL, no_nul_strings

SCENE = "SceneCreate"
SCORE = "GeneratedScore"
COMPOSITION = "CompositionCreate"


def _scene_variant(base: dict[str, Any], model: CatalogModel) -> dict[str, Any]:
    variant = copy.deepcopy(base)
    for key in ("examples", "description", "title"):
        variant.pop(key, None)
    properties = variant.setdefault("properties", {})
    properties["model"] = {"type": "string", "const": model.id, "description": model.description}
    input_schema = copy.deepcopy(dict(model.input_schema))
    own = input_schema.get("properties", {}).pop("duration", None)
    if isinstance(own, dict) and own.get("type") == "integer":
        properties["duration"] = {
            key: own[key] for key in ("type", "minimum", "maximum", "description") if key in own
        }
        input_schema["required"] = [r for r in input_schema.get("required", []) if r != "duration"]
        if not input_schema["required"]:
            input_schema.pop("required")
    else:
        properties.pop("duration", None)
    properties["input"] = no_nul_strings(input_schema)
    required = set(variant.get("required", [])) | {"model"}
    if input_schema.get("required"):
        required.add("input")
    variant["required"] = sorted(required)
    variant["title"] = model.id
    return variant


def describe_compositions(
    document: dict[str, Any], *, models: Iterable[CatalogModel], max_deadline_seconds: int
) -> None:
    schemas = document.get("components", {}).get("schemas", {})
    offered = list(models)
    scene = schemas.get(SCENE)
    videos = [m for m in offered if m.output == "video"]
    if scene is not None and videos:
        schemas[SCENE] = {
            "title": scene.get("title", SCENE),
            "description": scene.get("description", ""),
            "oneOf": [_scene_variant(scene, m) for m in videos],
        }
    score = schemas.get(SCORE)
    audios = [m.id for m in offered if m.output == "audio"]
    if score is not None:
        properties = score.get("properties", {})
        if audios:
            properties["model"] = {"type": "string", "enum": audios}
        if "prompt" in properties:
            properties["prompt"]["pattern"] = NO_NUL
    composition = schemas.get(COMPOSITION)
    if composition is not None:
        deadline = composition.get("properties", {}).get("deadline_seconds")
        if deadline is not None:
            for option in deadline.get("anyOf", [deadline]):
                if option.get("type") == "integer":
                    option["maximum"] = max_deadline_seconds
