"""Input validation against a model's schema: defaults, and where input errors point."""

from __future__ import annotations

from typing import Any

import pytest

from reelhouse.gateway.catalog.loader import Catalog, CatalogModel, load_catalog
from reelhouse.gateway.catalog.validation import InputError, InvalidInputError


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
        "seed": 4,
        "sandbox_fault": "never_finishes",
        "sandbox_delay": 0.5,
        "sandbox_expire_after": 2.5,
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
        ("sandbox_expire_after", 0),
        ("seed", -1),
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


@pytest.mark.parametrize(
    "fault",
    [
        "slow_queue",
        "never_starts",
        "never_finishes",
        "rate_limit_submit",
        "server_error_poll",
        "model_error",
        "unknown_status",
        "duplicate_webhook",
        "out_of_order_webhook",
        "no_webhook",
        "bad_signature",
        "expire_url",
        "html_instead_of_media",
        "truncated",
        "cancel_race",
    ],
)
def test_every_sandbox_model_takes_every_documented_fault(catalog: Catalog, fault: str) -> None:
    sandbox_models = [m for m in catalog if m.provider in {"sandbox", "sandbox-fal"}]

    assert len(sandbox_models) >= 7
    for model in sandbox_models:
        required = model.input_schema.get("required", [])
        raw = {"prompt": "x", "sandbox_fault": fault}
        if "image" in required:
            raw["image"] = "https://example.com/still.png"
        assert model.prepare_input(raw)["sandbox_fault"] == fault


@pytest.mark.parametrize(
    ("model_id", "raw", "path"),
    [
        ("minimax/video-01", {"prompt": "x", "duration": 6}, "input.duration"),
        ("minimax/video-01", {"prompt": "x", "prompt_optimizer": "yes"}, "input.prompt_optimizer"),
        ("kwaivgi/kling-v2.1", {"prompt": "x"}, "input.start_image"),
        (
            "kwaivgi/kling-v2.1",
            {"prompt": "x", "start_image": "u", "duration": 7},
            "input.duration",
        ),
        ("black-forest-labs/flux-schnell", {"prompt": "x", "num_outputs": 5}, "input.num_outputs"),
        (
            "black-forest-labs/flux-schnell",
            {"prompt": "x", "aspect_ratio": "2:1"},
            "input.aspect_ratio",
        ),
        (
            "fal-ai/kling-video/v2/master/text-to-video",
            {"prompt": "x", "duration": 5},
            "input.duration",
        ),
        (
            "fal-ai/flux/schnell",
            {"prompt": "x", "num_inference_steps": 13},
            "input.num_inference_steps",
        ),
        (
            "fal-ai/minimax/video-01",
            {"prompt": "x", "sandbox_fault": "truncated"},
            "input.sandbox_fault",
        ),
        ("sandbox-fal/text-to-video", {"prompt": "x", "duration": 11}, "input.duration"),
        ("sandbox/text-to-video-fallback", {"prompt": "x", "colour": "red"}, "input.colour"),
    ],
)
def test_real_and_fal_models_name_the_offending_field(
    catalog: Catalog, model_id: str, raw: dict[str, Any], path: str
) -> None:
    model = catalog.get(model_id)
    assert model is not None

    assert path in {e.path for e in _errors(model, raw)}
