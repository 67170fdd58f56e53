"""Driving compositions at the gateway by hand: the parts' and the assembler's events."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from reelhouse.common.composition_events import (
    CompositionAssembled,
    CompositionAssemblyFailed,
    CompositionReady,
)
from reelhouse.common.events import Asset, CancelRequested, Event, GenerationFailed, JobError
from tests.integration.gateway import job_events
from tests.integration.gateway.harness import Gateway, eventually, messages_on

Publish = Callable[[Event], Awaitable[None]]


SCENE = {"model": "sandbox/text-to-video", "input": {"prompt": "a fox"}}


async def compose(gateway: Gateway, **fields: Any) -> dict[str, Any]:
    body = {"scenes": [SCENE, SCENE, SCENE], **fields}
    response = await gateway.client.post("/v1/compositions", json=body, headers=gateway.auth())
    assert response.status_code == 202, response.text
    created: dict[str, Any] = response.json()
    return created


async def get(gateway: Gateway, composition_id: str) -> dict[str, Any]:
    response = await gateway.client.get(
        f"/v1/compositions/{composition_id}", headers=gateway.auth()
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def wait_status(gateway: Gateway, composition_id: str, status: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        found = await get(gateway, composition_id)
        return found if found["status"] == status else None

    return await eventually(probe, what=f"composition {composition_id} to be {status}")


async def ready_messages(nats_url: str) -> list[CompositionReady]:
    return [
        CompositionReady.model_validate_json(msg.data or b"{}")
        for msg in await messages_on(nats_url, CompositionReady.subject)
    ]


async def cancel_messages(nats_url: str) -> set[str]:
    return {
        json.loads(msg.data or b"{}")["job_id"]
        for msg in await messages_on(nats_url, CancelRequested.subject)
    }


def failure_of(job_id: str, code: str = "provider_model_error") -> GenerationFailed:
    return GenerationFailed(
        event_id=f"{job_id}:failed",
        job_id=job_id,
        error=JobError(stage="provider", code=code, message="the model crashed"),
    )


def film_answer(composition_id: str, assembly: int) -> CompositionAssembled:
    return CompositionAssembled(
        event_id=f"{composition_id}:assembled:{assembly}",
        job_id=composition_id,
        assembly=assembly,
        method="copy",
        asset=Asset(
            index=0,
            key=f"outputs/{composition_id}/0.mp4",
            content_type="video/mp4",
            size=4096,
            sha256="ef" * 32,
            kind="video",
            duration=9.0,
            width=640,
            height=360,
            fps=24.0,
            poster_key=f"posters/{composition_id}/0.jpg",
        ),
    )


def assembly_failed(composition_id: str, assembly: int) -> CompositionAssemblyFailed:
    return CompositionAssemblyFailed(
        event_id=f"{composition_id}:assembly_failed:{assembly}",
        job_id=composition_id,
        assembly=assembly,
        error=JobError(stage="assembly", code="assembly_failed", message="scene 1 is bad"),
    )


async def store_all(publish: Publish, job_ids: list[str]) -> None:
    for job_id in job_ids:
        await publish(job_events.submitted(job_id))
        await publish(job_events.stored(job_id))


async def first(found: Awaitable[list[CompositionReady]]) -> CompositionReady | None:
    messages = await found
    return messages[0] if messages else None


async def when(found: Awaitable[set[str]], ok: Callable[[set[str]], bool]) -> set[str] | None:
    value = await found
    return value if ok(value) else None


async def when_list(
    found: Awaitable[list[CompositionReady]], n: int
) -> list[CompositionReady] | None:
    value = await found
    return value if len(value) >= n else None
