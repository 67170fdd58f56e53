"""Model inputs validate like a Cog model's; faults combine into one plan."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reelhouse.sandbox.faults import (
    DISALLOWED_REDIRECT_HOST,
    EXPIRED_URL_TTL_SECONDS,
    FAULTS,
    FaultParams,
    Stage,
    UnknownFaultError,
    plan_faults,
)
from reelhouse.sandbox.models import (
    MODELS,
    TextToImageInput,
    TextToVideoInput,
    find_model,
    find_version,
)
from reelhouse.sandbox.replicate_api import parse_prefer_wait


def test_video_defaults() -> None:
    params = TextToVideoInput.model_validate({"prompt": "a cat"})
    assert (params.duration, params.width, params.height, params.fps) == (3.0, 640, 360, 24)
    assert params.fault_names() == []


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"prompt": ""},
        {"prompt": "x", "duration": 0.5},
        {"prompt": "x", "duration": 11},
        {"prompt": "x", "width": 641},
        {"prompt": "x", "height": 32},
        {"prompt": "x", "width": 4000},
        {"prompt": "x", "sandbox_delay": -1},
        {"prompt": "x", "sandbox_fualt": "truncated"},
    ],
)
def test_invalid_video_input_is_rejected(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        TextToVideoInput.model_validate(bad)


def test_unknown_ordinary_fields_are_ignored() -> None:
    params = TextToVideoInput.model_validate({"prompt": "x", "negative_prompt": "blur"})
    assert params.prompt == "x"


def test_image_input_has_no_duration() -> None:
    assert "duration" not in TextToImageInput.model_fields


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        ("truncated", ["truncated"]),
        ("truncated, expire_url", ["truncated", "expire_url"]),
        (["model_error"], ["model_error"]),
    ],
)
def test_fault_names_accept_a_name_a_list_or_commas(raw: str | list[str], names: list[str]) -> None:
    params = TextToVideoInput.model_validate({"prompt": "x", "sandbox_fault": raw})
    assert params.fault_names() == names


def test_no_fault_plan_does_everything_right() -> None:
    plan = plan_faults([])
    assert plan.stall_in is None
    assert plan.model_error is None
    assert plan.file_body == "media"
    assert plan.url_ttl_seconds is None


def test_each_fault_sets_its_hook() -> None:
    assert plan_faults(["never_starts"]).stall_in is Stage.STARTING
    assert plan_faults(["never_finishes"]).stall_in is Stage.PROCESSING
    assert plan_faults(["model_error"]).model_error
    assert plan_faults(["html_instead_of_media"]).file_body == "html"
    assert plan_faults(["truncated"]).file_body == "truncated"
    assert plan_faults(["expire_url"], FaultParams(7.5)).url_ttl_seconds == 7.5


def test_faults_combine() -> None:
    plan = plan_faults(["expire_url", "truncated"])
    assert (plan.file_body, plan.url_ttl_seconds) == ("truncated", 1.0)
    assert plan.names == ("expire_url", "truncated")


def test_unknown_fault_names_the_known_ones() -> None:
    with pytest.raises(UnknownFaultError, match="model_error"):
        plan_faults(["explode"])


def test_the_required_faults_exist() -> None:
    assert {
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
    } <= set(FAULTS)


def test_protocol_and_webhook_faults_set_their_hooks() -> None:
    assert plan_faults(["slow_queue"]).queue_factor > 1
    assert plan_faults(["rate_limit_submit"]).throttled_submits == 2
    assert plan_faults(["server_error_poll"]).poll_failures == 2
    assert plan_faults(["unknown_status"]).unknown_status
    assert plan_faults(["cancel_race"]).complete_on_cancel
    assert plan_faults(["duplicate_webhook"]).webhook_copies == 2
    assert plan_faults(["out_of_order_webhook"]).webhook_stale_after_terminal
    assert not plan_faults(["no_webhook"]).webhooks
    assert plan_faults(["bad_signature"]).webhook_bad_signature


def test_models_are_found_by_ref_and_by_version() -> None:
    video = find_model("sandbox/text-to-video")
    assert video is not None
    assert find_model("sandbox/nope") is None
    assert len(video.version_id) == 64
    assert find_version(video.version_id) is video
    assert find_version("sandbox/text-to-video") is video
    assert find_version(f"sandbox/text-to-video:{video.version_id}") is video
    assert find_version("sandbox/text-to-video:0000") is None
    assert find_version("f" * 64) is None
    assert set(MODELS) == {
        "sandbox/text-to-video",
        "sandbox/text-to-image",
        "sandbox/image-to-video",
        "sandbox/instant-video",
        "sandbox/text-to-music",
        "sandbox-fal/text-to-video",
        "sandbox-fal/text-to-image",
        "sandbox-fal/image-to-video",
        "sandbox-fal/instant-video",
        "sandbox-fal/text-to-music",
    }


def test_each_protocol_offers_only_its_own_models() -> None:
    fal_video = find_model("sandbox-fal/text-to-video", "fal")
    assert fal_video is not None
    assert fal_video.input_model is MODELS["sandbox/text-to-video"].input_model
    assert find_model("sandbox-fal/text-to-video", "replicate") is None
    assert find_model("sandbox/text-to-video", "fal") is None
    assert find_version("sandbox-fal/text-to-video") is None


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("", None),
        ("respond-async", None),
        ("wait", 60.0),
        ("wait=5", 5.0),
        ("wait=0", 1.0),
        ("wait=600", 60.0),
        ("respond-async, wait=3", 3.0),
    ],
)
def test_prefer_wait_is_parsed_and_clamped(header: str | None, seconds: float | None) -> None:
    assert parse_prefer_wait(header) == seconds


def test_custody_faults_set_their_hooks() -> None:
    assert plan_faults(["expired_url"]).url_ttl_seconds == EXPIRED_URL_TTL_SECONDS < 0
    assert plan_faults(["cut_connection"]).cut_unranged
    assert plan_faults(["stall_body"]).stalled_first_gets == 1
    assert plan_faults(["moov_at_end"]).render_moov_at_end
    assert plan_faults(["black_start"]).render_black_start
    assert plan_faults(["oversized"]).file_body == "oversized"
    assert plan_faults(["redirect_disallowed"]).redirect_to == DISALLOWED_REDIRECT_HOST
    assert DISALLOWED_REDIRECT_HOST.endswith(".invalid")


def test_size_mb_is_a_bounded_video_input() -> None:
    assert TextToVideoInput.model_validate({"prompt": "big", "size_mb": 1100}).size_mb == 1100
    for bad in (0, -1, 100_000):
        with pytest.raises(ValidationError):
            TextToVideoInput.model_validate({"prompt": "big", "size_mb": bad})
