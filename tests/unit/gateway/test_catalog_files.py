"""The catalogue's data files: what ships, how operator files merge over it, how bad ones fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reelhouse.common.events import ProviderRoute
from reelhouse.gateway.catalog.loader import CatalogError, load_catalog, parse_catalog


def _entry(model_id: str = "acme/clip", **changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": model_id,
        "kind": "text-to-video",
        "description": "An operator's own model.",
        "providers": [{"provider": "replicate", "provider_model": "acme/clip"}],
        "input_schema": {
            "type": "object",
            "additionalProperties": False,
            "required": ["prompt"],
            "properties": {
                "prompt": {"type": "string", "minLength": 1},
                "steps": {"type": "integer", "minimum": 1, "default": 20},
            },
        },
        "price": {"unit": "second", "usd": 0.05, "note": "negotiated rate"},
    }
    entry.update(changes)
    return entry


def _write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_shipped_catalogue_offers_the_sandbox_models_on_both_protocols() -> None:
    catalog = load_catalog()

    routes = {model.id: model.routes for model in catalog}
    assert routes["sandbox/text-to-video"] == (
        ProviderRoute(provider="sandbox", provider_model="sandbox/text-to-video"),
    )
    assert routes["sandbox/text-to-image"][0].provider == "sandbox"
    assert routes["sandbox-fal/text-to-video"][0].provider == "sandbox-fal"
    assert routes["sandbox-fal/text-to-image"][0].provider == "sandbox-fal"
    for owner in ("sandbox", "sandbox-fal"):
        model = catalog.get(f"{owner}/image-to-video")
        assert model is not None
        assert model.routes == (
            ProviderRoute(provider=owner, provider_model=f"{owner}/image-to-video"),
        )
        assert (model.kind, model.output) == ("image-to-video", "video")
        assert model.input_schema["required"] == ["image"]
        assert model.input_schema["properties"]["image"]["format"] == "uri"
    assert catalog.get("acme/unknown") is None


def test_shipped_catalogue_has_a_model_with_a_fallback_route() -> None:
    model = load_catalog().get("sandbox/text-to-video-fallback")

    assert model is not None
    assert [route.provider for route in model.routes] == ["sandbox", "sandbox-fal"]
    assert (model.provider, model.provider_model) == ("sandbox", "sandbox/text-to-video")


def test_shipped_catalogue_declares_real_replicate_and_fal_models() -> None:
    catalog = load_catalog()
    by_provider: dict[str, set[str]] = {}
    for model in catalog:
        for route in model.routes:
            by_provider.setdefault(route.provider, set()).add(model.id)

    assert {"minimax/video-01", "kwaivgi/kling-v2.1", "black-forest-labs/flux-schnell"} <= (
        by_provider["replicate"]
    )
    assert {
        "fal-ai/kling-video/v2/master/text-to-video",
        "fal-ai/flux/schnell",
        "fal-ai/minimax/video-01",
    } <= by_provider["fal"]
    assert {model.kind for model in catalog} == {
        "text-to-video",
        "image-to-video",
        "text-to-image",
        "text-to-music",
    }


def test_every_shipped_model_has_a_price_basis_and_a_strict_object_schema() -> None:
    for model in load_catalog():
        assert model.price.unit in {"second", "image", "run", "prediction_second"}
        # the sandbox models cost nothing: their nominal price says so
        assert model.price.simulated == model.provider.startswith("sandbox")
        assert model.price.usd is not None or model.price.note
        assert model.input_schema["type"] == "object"
        assert model.input_schema.get("additionalProperties") is False
        assert model.description


def test_defaults_come_from_the_schema() -> None:
    model = load_catalog().get("sandbox/text-to-video")

    assert model is not None
    assert model.defaults == {"duration": 3}


def test_an_operator_file_adds_models_and_replaces_one_with_the_same_id(tmp_path: Path) -> None:
    replacement = _entry(
        "sandbox/text-to-image",
        kind="text-to-image",
        providers=[{"provider": "sandbox-fal", "provider_model": "sandbox-fal/text-to-image"}],
    )
    path = _write(tmp_path, "models.json", {"models": [_entry(), replacement]})

    catalog = load_catalog([path])

    shipped = load_catalog()
    assert len(catalog) == len(shipped) + 1
    added = catalog.get("acme/clip")
    assert added is not None
    assert added.defaults == {"steps": 20}
    assert added.price.usd == 0.05
    replaced = catalog.get("sandbox/text-to-image")
    assert replaced is not None
    assert replaced.provider == "sandbox-fal"
    assert replaced.description == "An operator's own model."
    assert [m.id for m in catalog][: len(shipped)] == [m.id for m in shipped]


def test_later_operator_files_win(tmp_path: Path) -> None:
    first = _write(tmp_path, "a.json", {"models": [_entry(description="first")]})
    second = _write(tmp_path, "b.json", {"models": [_entry(description="second")]})

    model = load_catalog([first, second]).get("acme/clip")

    assert model is not None
    assert model.description == "second"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        pytest.param('{"models": [', "not valid JSON", id="not-json"),
        pytest.param({"model": []}, "models: Field required", id="wrong-top-level-key"),
        pytest.param(
            {"models": [_entry(kind="text-to-audio")]}, "models.0.kind", id="unknown-kind"
        ),
        pytest.param({"models": [_entry(providers=[])]}, "models.0.providers", id="no-route"),
        pytest.param(
            {"models": [_entry(price={"unit": "minute"})]}, "models.0.price.unit", id="bad-price"
        ),
        pytest.param({"models": [_entry(colour="red")]}, "models.0.colour", id="unknown-key"),
        pytest.param(
            {"models": [_entry(input_schema={"type": "no-such-type"})]},
            "'acme/clip': input_schema is not a valid JSON Schema",
            id="broken-schema",
        ),
        pytest.param(
            {"models": [_entry(input_schema={"type": "string"})]},
            '"type": "object"',
            id="schema-not-an-object",
        ),
        pytest.param({"models": [_entry(), _entry()]}, "declared twice", id="duplicate-id"),
    ],
)
def test_a_broken_operator_file_is_refused_naming_the_file_and_the_problem(
    tmp_path: Path, content: Any, problem: str
) -> None:
    path = _write(tmp_path, "broken.json", content)

    with pytest.raises(CatalogError) as caught:
        load_catalog([path])

    assert str(path) in str(caught.value)
    assert problem in str(caught.value)


def test_a_missing_operator_file_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.json"

    with pytest.raises(CatalogError, match=r"nowhere\.json.*cannot be read"):
        load_catalog([path])


def test_parse_catalog_names_its_source() -> None:
    with pytest.raises(CatalogError, match=r"^inline: models: Input should be a valid list"):
        parse_catalog({"models": 3}, source="inline")
