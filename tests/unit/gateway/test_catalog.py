"""The model catalogue: shipped entries, defaults, and where input errors point."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema.exceptions import SchemaError

from reelhouse.gateway.catalog.loader import (
    Catalog,
    CatalogModel,
    InputError,
    InvalidInputError,
    load_catalog,
    parse_catalog,
)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def video(catalog: Catalog) -> CatalogModel:
    model = catalog.get("sandbox/text-to-video")
    assert model is not None
    return model


def _errors(model: CatalogModel, raw: dict[str, Any]) -> list[InputError]:
    with pytest.raises(InvalidInputError) as caught:
        model.prepare_input(raw)
    return caught.value.errors


def test_shipped_catalogue_offers_both_sandbox_models(catalog: Catalog) -> None:
    video = catalog.get("sandbox/text-to-video")
    image = catalog.get("sandbox/text-to-image")

    assert video is not None
    assert (video.provider, video.provider_model, video.kind) == (
        "sandbox",
        "sandbox/text-to-video",
        "text-to-video",
    )
    assert image is not None
    assert image.kind == "text-to-image"
    assert catalog.get("acme/unknown") is None


def test_every_schema_refuses_unknown_fields(catalog: Catalog) -> None:
    assert all(m.input_schema.get("additionalProperties") is False for m in catalog)


def test_defaults_are_filled_in_without_touching_given_values(video: CatalogModel) -> None:
    assert video.prepare_input({"prompt": "fox"}) == {"prompt": "fox", "duration": 3}
    assert video.prepare_input({"prompt": "fox", "duration": 7})["duration"] == 7


def test_a_full_valid_input_passes_unchanged(video: CatalogModel) -> None:
    raw = {
        "prompt": "fox",
        "duration": 10,
        "width": 1920,
        "height": 64,
        "fps": 60,
        "seed": -4,
        "sandbox_fault": "never_finishes",
        "sandbox_delay": 0.5,
    }

    assert video.prepare_input(raw) == raw


def test_unknown_field_is_reported_at_its_own_path(video: CatalogModel) -> None:
    assert _errors(video, {"prompt": "x", "colour": "red"}) == [
        InputError(path="input.colour", message="unknown field")
    ]


def test_missing_required_field_is_reported_at_its_own_path(video: CatalogModel) -> None:
    assert _errors(video, {}) == [InputError(path="input.prompt", message="field required")]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("duration", "3"),
        ("duration", 2.5),
        ("duration", True),
        ("duration", 0),
        ("duration", 11),
        ("width", 63),
        ("width", 1921),
        ("width", 101),
        ("fps", 61),
        ("prompt", ""),
        ("prompt", "x" * 2001),
        ("sandbox_fault", "explode"),
        ("sandbox_delay", -1),
        ("sandbox_delay", 61),
    ],
)
def test_wrong_type_or_out_of_range_names_the_field(
    video: CatalogModel, field: str, value: Any
) -> None:
    raw = {"prompt": "x", field: value}

    errors = _errors(video, raw)

    assert {e.path for e in errors} == {f"input.{field}"}


def test_nul_characters_are_refused_wherever_they_hide(video: CatalogModel) -> None:
    errors = _errors(video, {"prompt": "a\x00b", "sandbox_fault": "model_error\x00"})

    assert {e.path for e in errors} == {"input.prompt", "input.sandbox_fault"}


def test_every_fault_is_reported_at_once(video: CatalogModel) -> None:
    errors = _errors(video, {"duration": 99, "extra": 1})

    assert {e.path for e in errors} == {"input.prompt", "input.duration", "input.extra"}


def test_a_broken_schema_fails_at_load_time() -> None:
    data = {
        "models": [
            {
                "id": "x/y",
                "provider": "sandbox",
                "provider_model": "x/y",
                "kind": "text-to-video",
                "output": "video",
                "input_schema": {"type": "no-such-type"},
            }
        ]
    }

    with pytest.raises(SchemaError):
        parse_catalog(data)
