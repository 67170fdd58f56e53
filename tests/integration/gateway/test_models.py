"""``/v1/models``: the catalogue as the API serves it, operator files included."""

from __future__ import annotations

import json
from pathlib import Path

from reelhouse.gateway.settings import Settings
from tests.integration.gateway.harness import Gateway, running_gateway


async def test_the_listing_shows_routes_schema_defaults_and_price(gateway: Gateway) -> None:
    response = await gateway.client.get("/v1/models", headers=gateway.auth())

    assert response.status_code == 200
    models = {model["id"]: model for model in response.json()["data"]}
    assert {
        "sandbox/text-to-video",
        "sandbox/text-to-image",
        "sandbox-fal/text-to-video",
        "sandbox-fal/text-to-image",
        "sandbox/text-to-video-fallback",
        "minimax/video-01",
        "fal-ai/flux/schnell",
    } <= set(models)
    video = models["sandbox/text-to-video"]
    assert set(video) == {
        "id",
        "kind",
        "output",
        "description",
        "providers",
        "input_schema",
        "defaults",
        "price",
        "available",
        "unavailable_reason",
    }
    assert video["kind"] == "text-to-video"
    assert video["providers"] == [
        {"provider": "sandbox", "provider_model": "sandbox/text-to-video"}
    ]
    assert video["defaults"] == {"duration": 3}
    assert video["price"]["unit"] == "second"
    assert video["price"]["simulated"] is True
    assert models["sandbox/text-to-video-fallback"]["price"]["unit"] == "prediction_second"
    assert video["input_schema"]["properties"]["sandbox_fault"]["enum"][-1] == "cancel_race"
    assert [r["provider"] for r in models["sandbox/text-to-video-fallback"]["providers"]] == [
        "sandbox",
        "sandbox-fal",
    ]
    assert models["kwaivgi/kling-v2.1"]["kind"] == "image-to-video"


async def test_the_music_models_are_listed_with_an_audio_output(gateway: Gateway) -> None:
    response = await gateway.client.get("/v1/models", headers=gateway.auth())

    models = {model["id"]: model for model in response.json()["data"]}
    for model_id in ("sandbox/text-to-music", "sandbox-fal/text-to-music"):
        music = models[model_id]
        assert (music["kind"], music["output"]) == ("text-to-music", "audio")
        assert music["defaults"] == {"duration": 10}
        duration = music["input_schema"]["properties"]["duration"]
        assert (duration["type"], duration["minimum"], duration["maximum"]) == ("integer", 1, 300)
        assert music["price"]["unit"] == "second"
        assert music["price"]["simulated"] is True
        assert music["available"] is True


async def test_one_model_is_found_by_an_id_with_slashes(gateway: Gateway) -> None:
    model_id = "fal-ai/kling-video/v2/master/text-to-video"

    response = await gateway.client.get(f"/v1/models/{model_id}", headers=gateway.auth())

    assert response.status_code == 200
    assert response.json()["id"] == model_id
    assert response.json()["providers"][0]["provider"] == "fal"


async def test_an_unknown_model_is_a_404_problem(gateway: Gateway) -> None:
    response = await gateway.client.get("/v1/models/acme/nothing", headers=gateway.auth())

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_an_operator_file_adds_and_replaces_models_end_to_end(
    settings: Settings, tmp_path: Path
) -> None:
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["prompt"],
        "properties": {"prompt": {"type": "string"}, "steps": {"type": "integer", "maximum": 50}},
    }
    operator_file = tmp_path / "models.json"
    operator_file.write_text(
        json.dumps(
            {
                "models": [
                    {
                        "id": "acme/house-model",
                        "kind": "text-to-image",
                        "description": "Our own.",
                        "providers": [{"provider": "replicate", "provider_model": "acme/house"}],
                        "input_schema": schema,
                        "price": {"unit": "image", "usd": 0.01},
                    },
                    {
                        "id": "sandbox/text-to-video",
                        "kind": "text-to-video",
                        "description": "Replaced by the operator.",
                        "providers": [
                            {
                                "provider": "sandbox-fal",
                                "provider_model": "sandbox-fal/text-to-video",
                            }
                        ],
                        "input_schema": schema,
                        "price": {"unit": "run", "usd": 0},
                    },
                ]
            }
        ),
        encoding="utf-8",
    )

    async with running_gateway(
        settings.model_copy(update={"catalog_paths": [operator_file]})
    ) as gw:
        models = {
            m["id"]: m
            for m in (await gw.client.get("/v1/models", headers=gw.auth())).json()["data"]
        }
        assert models["acme/house-model"]["price"] == {
            "unit": "image",
            "usd": 0.01,
            "note": None,
            "simulated": False,
            "typical_seconds": None,
        }
        assert models["sandbox/text-to-video"]["description"] == "Replaced by the operator."

        job = await gw.submit_to("acme/house-model", {"prompt": "a logo"})
        assert job["status"] == "queued"
        refused = await gw.client.post(
            "/v1/generations",
            json={"model": "acme/house-model", "input": {"prompt": "x", "steps": 51}},
            headers=gw.auth(),
        )
        assert refused.status_code == 422
        assert [e["path"] for e in refused.json()["errors"]] == ["input.steps"]
