"""Submitting a generation: 202 at once, the event on JetStream, even across a NATS outage."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from reelhouse.common.events import GenerationRequested
from reelhouse.gateway.db.models import OutboxMessage
from reelhouse.gateway.outbox import repository as outbox
from reelhouse.gateway.settings import Settings
from tests.integration.gateway.harness import Gateway, eventually, messages_on, running_gateway
from tests.support.nats import NatsServer


async def _requested_event(nats_url: str, job_id: str) -> dict[str, Any] | None:
    for msg in await messages_on(nats_url, GenerationRequested.subject):
        body: dict[str, Any] = json.loads(msg.data or b"{}")
        if body.get("job_id") == job_id:
            return {"headers": msg.headers or {}, "body": body}
    return None


async def test_submit_returns_202_with_queued_job_and_publishes_requested_event(
    gateway: Gateway, nats_server: NatsServer
) -> None:
    response = await gateway.client.post(
        "/v1/generations",
        json={"model": "sandbox/text-to-video", "input": {"prompt": "a fox"}},
        headers=gateway.auth(),
    )

    assert response.status_code == 202
    job = response.json()
    assert job["status"] == "queued"
    assert job["model"] == "sandbox/text-to-video"
    assert job["error"] is None
    assert job["outputs"] == []
    assert job["links"]["self"].endswith(f"/v1/generations/{job['id']}")
    assert response.headers["location"] == job["links"]["self"]

    message = await eventually(
        lambda: _requested_event(nats_server.url, job["id"]), what="gen.requested.v1"
    )
    event_id = f"{job['id']}:requested"
    assert message["headers"]["Nats-Msg-Id"] == event_id
    assert message["headers"]["ce-type"] == GenerationRequested.event_type
    assert message["body"]["event_id"] == event_id
    assert message["body"]["owner_id"] == "dev"
    assert message["body"]["provider"] == "sandbox"
    assert message["body"]["provider_model"] == "sandbox/text-to-video"
    assert message["body"]["deadline_seconds"] == gateway.settings.default_deadline_seconds


async def test_schema_defaults_are_applied_to_the_stored_and_published_input(
    gateway: Gateway, nats_server: NatsServer
) -> None:
    job = await gateway.submit("a fox")

    assert job["input"] == {"prompt": "a fox", "duration": 3}
    message = await eventually(lambda: _requested_event(nats_server.url, job["id"]))
    assert message["body"]["input"] == {"prompt": "a fox", "duration": 3}


async def test_job_accepted_while_nats_is_down_is_published_once_it_is_back(
    gateway: Gateway, nats_server: NatsServer
) -> None:
    nats_server.stop()

    job = await gateway.submit("submitted during an outage")
    assert job["status"] == "queued"

    nats_server.start()
    message = await eventually(
        lambda: _requested_event(nats_server.url, job["id"]), what="the outbox to drain"
    )
    assert message["headers"]["Nats-Msg-Id"] == f"{job['id']}:requested"

    async def drained() -> bool | None:
        async with gateway.sessions() as session:
            return True if await outbox.count_pending(session) == 0 else None

    await eventually(drained, what="the outbox row to be marked sent")
    assert (await gateway.job(job["id"]))["status"] == "queued"


async def test_two_replicas_publish_each_accepted_job_once(
    gateway: Gateway, settings: Settings, nats_server: NatsServer
) -> None:
    async with running_gateway(settings) as replica:
        jobs = [await (gateway if n % 2 else replica).submit(f"job {n}") for n in range(12)]

        async def drained() -> bool | None:
            async with gateway.sessions() as session:
                return True if await outbox.count_pending(session) == 0 else None

        await eventually(drained, what="both relays to drain the outbox")

    async with gateway.sessions() as session:
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
    assert sorted(row.job_id for row in rows) == sorted(job["id"] for job in jobs)
    assert {row.attempts for row in rows} == {1}


async def test_each_accepted_job_is_published_exactly_once(
    gateway: Gateway, nats_server: NatsServer
) -> None:
    jobs = [await gateway.submit(f"job {n}") for n in range(5)]

    async def all_published() -> list[dict[str, Any]] | None:
        found = [await _requested_event(nats_server.url, job["id"]) for job in jobs]
        return None if any(f is None for f in found) else [f for f in found if f]

    await eventually(all_published)
    messages = await messages_on(nats_server.url, GenerationRequested.subject)
    ids = [json.loads(m.data or b"{}")["job_id"] for m in messages]
    assert sorted(ids) == sorted(job["id"] for job in jobs)


async def test_unknown_model_is_422_with_the_model_field_path(gateway: Gateway) -> None:
    response = await gateway.client.post(
        "/v1/generations",
        json={"model": "acme/does-not-exist", "input": {"prompt": "x"}},
        headers=gateway.auth(),
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "unknown_model"
    assert problem["status"] == 422
    assert {"path": "model", "message": "unknown model"} in problem["errors"]


@pytest.mark.parametrize(
    ("input_", "path"),
    [
        pytest.param({"prompt": "x", "colour": "red"}, "input.colour", id="unknown-field"),
        pytest.param({"prompt": "x", "duration": "long"}, "input.duration", id="wrong-type"),
        pytest.param({"prompt": "x", "duration": 11}, "input.duration", id="above-maximum"),
        pytest.param({"prompt": "x", "width": 63}, "input.width", id="below-minimum"),
        pytest.param({"prompt": ""}, "input.prompt", id="empty-prompt"),
        pytest.param({"duration": 3}, "input.prompt", id="missing-prompt"),
        pytest.param({"prompt": "x", "sandbox_fault": "nope"}, "input.sandbox_fault", id="enum"),
        pytest.param({"prompt": "nul \x00 inside"}, "input.prompt", id="nul-character"),
    ],
)
async def test_input_that_breaks_the_model_schema_is_422_naming_the_field(
    gateway: Gateway, input_: dict[str, Any], path: str
) -> None:
    response = await gateway.client.post(
        "/v1/generations",
        json={"model": "sandbox/text-to-video", "input": input_},
        headers=gateway.auth(),
    )

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert path in [error["path"] for error in problem["errors"]]


async def test_malformed_request_body_is_a_422_problem(gateway: Gateway) -> None:
    response = await gateway.client.post(
        "/v1/generations",
        json={"model": "sandbox/text-to-video", "input": "not an object", "extra": 1},
        headers=gateway.auth(),
    )

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert {"input", "extra"} <= {error["path"] for error in problem["errors"]}


async def test_rejected_submissions_write_nothing(gateway: Gateway) -> None:
    await gateway.client.post(
        "/v1/generations",
        json={"model": "sandbox/text-to-video", "input": {}},
        headers=gateway.auth(),
    )

    listing = await gateway.client.get("/v1/generations", headers=gateway.auth())
    assert listing.json()["data"] == []


async def test_routes_and_deadlines_travel_in_the_published_requested_event(
    gateway: Gateway, nats_server: NatsServer
) -> None:
    job = await gateway.submit_to(
        "sandbox/text-to-video-fallback",
        {"prompt": "a fox"},
        deadline_seconds=20,
        start_deadline_seconds=5,
    )

    assert (job["deadline_seconds"], job["start_deadline_seconds"]) == (20, 5)
    assert (job["cancel_requested"], job["attempts"]) == (False, [])
    message = await eventually(lambda: _requested_event(nats_server.url, job["id"]))
    body = message["body"]
    assert body["routes"] == [
        {"provider": "sandbox", "provider_model": "sandbox/text-to-video"},
        {"provider": "sandbox-fal", "provider_model": "sandbox-fal/text-to-video"},
    ]
    assert (body["provider"], body["provider_model"]) == ("sandbox", "sandbox/text-to-video")
    assert (body["deadline_seconds"], body["start_deadline_seconds"]) == (20, 5)


async def test_a_single_route_model_publishes_its_one_route_and_no_start_deadline(
    gateway: Gateway, nats_server: NatsServer
) -> None:
    job = await gateway.submit_to("sandbox-fal/text-to-image", {"prompt": "a fox"})

    message = await eventually(lambda: _requested_event(nats_server.url, job["id"]))
    assert message["body"]["routes"] == [
        {"provider": "sandbox-fal", "provider_model": "sandbox-fal/text-to-image"}
    ]
    assert message["body"]["start_deadline_seconds"] is None
    assert job["start_deadline_seconds"] is None


async def test_a_start_deadline_the_deadline_overtakes_is_left_out(gateway: Gateway) -> None:
    # no refusal: the OpenAPI document cannot say "less than the deadline", and a body it
    # calls valid is accepted; the deadline would fire first anyway
    job = await gateway.submit_to(
        "sandbox/text-to-video", {"prompt": "x"}, deadline_seconds=20, start_deadline_seconds=20
    )

    assert job["deadline_seconds"] == 20
    assert job["start_deadline_seconds"] is None


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        pytest.param({"deadline_seconds": 9}, "deadline_seconds", id="deadline-too-short"),
        pytest.param({"deadline_seconds": 86_401}, "deadline_seconds", id="deadline-too-long"),
        pytest.param({"deadline_seconds": "soon"}, "deadline_seconds", id="deadline-type"),
        pytest.param({"start_deadline_seconds": 0}, "start_deadline_seconds", id="start-zero"),
    ],
)
async def test_deadlines_out_of_range_are_422_naming_the_field(
    gateway: Gateway, fields: dict[str, Any], path: str
) -> None:
    response = await gateway.client.post(
        "/v1/generations",
        json={"model": "sandbox/text-to-video", "input": {"prompt": "x"}, **fields},
        headers=gateway.auth(),
    )

    assert response.status_code == 422
    assert path in [error["path"] for error in response.json()["errors"]]


async def test_a_deadline_above_the_deployments_maximum_is_422(settings: Settings) -> None:
    capped = settings.model_copy(update={"max_deadline_seconds": 60})
    async with running_gateway(capped) as gateway:
        response = await gateway.client.post(
            "/v1/generations",
            json={
                "model": "sandbox/text-to-video",
                "input": {"prompt": "x"},
                "deadline_seconds": 61,
            },
            headers=gateway.auth(),
        )

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"path": "deadline_seconds", "message": "must be between 10 and 60"}
    ]


@pytest.mark.parametrize(
    ("model", "input_", "path"),
    [
        ("sandbox-fal/text-to-video", {"prompt": "x", "duration": 11}, "input.duration"),
        ("sandbox-fal/text-to-video", {"prompt": "x", "colour": "red"}, "input.colour"),
        ("sandbox-fal/text-to-image", {"prompt": "x", "sandbox_delay": 61}, "input.sandbox_delay"),
        ("sandbox/text-to-video-fallback", {"duration": 3}, "input.prompt"),
        ("sandbox/image-to-video", {"prompt": "x"}, "input.image"),
        ("sandbox-fal/image-to-video", {"image": "file:///etc/passwd"}, "input.image"),
        ("minimax/video-01", {"prompt": "x", "prompt_optimizer": "on"}, "input.prompt_optimizer"),
        ("kwaivgi/kling-v2.1", {"prompt": "x"}, "input.start_image"),
        ("fal-ai/flux/schnell", {"prompt": "x", "num_images": 9}, "input.num_images"),
        (
            "fal-ai/kling-video/v2/master/text-to-video",
            {"prompt": "x", "aspect_ratio": "4:3"},
            "input.aspect_ratio",
        ),
    ],
)
async def test_new_models_refuse_bad_input_with_the_field_path(
    gateway: Gateway, model: str, input_: dict[str, Any], path: str
) -> None:
    response = await gateway.client.post(
        "/v1/generations", json={"model": model, "input": input_}, headers=gateway.auth()
    )

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert path in [error["path"] for error in response.json()["errors"]]
