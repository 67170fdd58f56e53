"""The webhook API on the real app: submit-time checks, the secret, deliveries, other owners.

Also the delivery-time SSRF guard: a host name that passes at submit but resolves to a
loopback address is refused when sending, and the receiver hears nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from reelhouse.common.events import Event, GenerationFailed, JobError
from reelhouse.gateway.db.models import WebhookSecret
from reelhouse.gateway.settings import Settings, WebhookSettings
from tests.integration.gateway.harness import Gateway, eventually, running_gateway
from tests.support.webhook_receiver import WebhookReceiver

HTTP_AND_HTTPS = ["http", "https"]


@pytest.fixture
async def strict_gateway(settings: Settings) -> AsyncIterator[Gateway]:
    """Loopback refused (the production default), plain http allowed so a test can listen."""
    webhooks = WebhookSettings(allowed_schemes=HTTP_AND_HTTPS, poll_seconds=0.1)
    async with running_gateway(settings.model_copy(update={"webhooks": webhooks})) as running:
        yield running


async def post_job(gateway: Gateway, **fields: Any) -> tuple[int, dict[str, Any]]:
    response = await gateway.client.post(
        "/v1/generations",
        json={"model": "sandbox/text-to-video", "input": {"prompt": "a fox"}, **fields},
        headers=gateway.auth(),
    )
    body: dict[str, Any] = response.json()
    return response.status_code, body


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "http://10.0.0.7/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:8000/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://user:pw@example.com/hook",
        "not a url",
        "http://",
        "https://example.com/" + "é" * 1500,
        "https://df.org*",
        "https://exa_mple.com/hook",
    ],
)
async def test_a_webhook_url_the_guard_refuses_is_422_invalid_webhook_url(
    strict_gateway: Gateway, url: str
) -> None:
    status, body = await post_job(strict_gateway, webhook_url=url)

    assert status == 422, body
    assert body["code"] == "invalid_webhook_url"


async def test_a_lone_surrogate_in_the_webhook_url_is_a_problem_not_a_500(
    strict_gateway: Gateway,
) -> None:
    body = {
        "model": "sandbox/text-to-video",
        "input": {"prompt": "a fox"},
        "webhook_url": "https://example.com/\ud800",
    }
    response = await strict_gateway.client.post(
        "/v1/generations",
        content=json.dumps(body),  # ASCII escapes: the client sends what a JSON encoder would
        headers={**strict_gateway.auth(), "Content-Type": "application/json"},
    )

    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_https_is_the_only_scheme_by_default(gateway: Gateway) -> None:
    status, body = await post_job(gateway, webhook_url="http://example.com/hook")

    assert (status, body["code"]) == (422, "invalid_webhook_url")


@pytest.mark.parametrize(
    "fields",
    [
        {"webhook_url": "https://example.com/hook", "webhook_events": ["finished"]},
        {"webhook_url": "https://example.com/hook", "webhook_events": ["succeeded", "x" * 500]},
        {"webhook_events": ["succeeded"]},
        {"webhook_url": "https://example.com/hook", "webhook_events": []},
    ],
)
async def test_unknown_or_orphan_webhook_events_are_422_invalid_webhook_events(
    gateway: Gateway, fields: dict[str, Any]
) -> None:
    status, body = await post_job(gateway, **fields)

    assert status == 422, body
    assert body["code"] == "invalid_webhook_events"
    assert len(body["detail"]) < 300


async def test_the_webhook_is_stored_on_the_job_and_shown(gateway: Gateway) -> None:
    status, job = await post_job(
        gateway,
        webhook_url="https://example.com/hook",
        webhook_events=["progress", "succeeded", "status", "progress"],
    )

    assert status == 202, job
    shown = await gateway.job(job["id"])
    assert shown["webhook_url"] == "https://example.com/hook"
    assert shown["webhook_events"] == ["status", "progress", "succeeded"]
    plain = await gateway.submit()
    assert (plain["webhook_url"], plain["webhook_events"]) == (None, None)


async def test_the_secret_is_made_once_and_rotation_replaces_it(gateway: Gateway) -> None:
    first = (await gateway.client.get("/v1/webhooks/secret", headers=gateway.auth())).json()
    again = (await gateway.client.get("/v1/webhooks/secret", headers=gateway.auth())).json()
    rotated = await gateway.client.post("/v1/webhooks/secret/rotate", headers=gateway.auth())
    other = await gateway.new_key("someone-else")
    theirs = (await gateway.client.get("/v1/webhooks/secret", headers=gateway.auth(other))).json()

    assert first == again
    assert first["secret"].startswith("whsec_")
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != first["secret"]
    assert theirs["secret"] not in (first["secret"], rotated.json()["secret"])


async def test_secrets_are_not_stored_in_the_clear(gateway: Gateway) -> None:
    secret = (await gateway.client.get("/v1/webhooks/secret", headers=gateway.auth())).json()
    async with gateway.sessions() as session:
        stored = list(await session.scalars(select(WebhookSecret.ciphertext)))

    assert stored
    assert all(secret["secret"] not in text for text in stored)
    assert all(secret["secret"].removeprefix("whsec_") not in text for text in stored)


async def test_deliveries_of_another_owners_job_are_404(gateway: Gateway) -> None:
    _, job = await post_job(gateway, webhook_url="https://example.com/hook")
    other = await gateway.new_key("someone-else")

    listing = await gateway.client.get(
        f"/v1/generations/{job['id']}/deliveries", headers=gateway.auth(other)
    )
    redeliver = await gateway.client.post(
        f"/v1/generations/{job['id']}/deliveries/msg_0/redeliver", headers=gateway.auth(other)
    )
    mine = await gateway.client.post(
        f"/v1/generations/{job['id']}/deliveries/msg_0/redeliver", headers=gateway.auth()
    )

    assert (listing.status_code, listing.json()["code"]) == (404, "not_found")
    assert (redeliver.status_code, redeliver.json()["code"]) == (404, "not_found")
    assert (mine.status_code, mine.json()["code"]) == (404, "not_found")


async def test_a_host_resolving_to_loopback_is_refused_when_sending(
    strict_gateway: Gateway, publish: Callable[[Event], Awaitable[None]]
) -> None:
    with WebhookReceiver() as receiver:
        url = receiver.url.replace("127.0.0.1", "localhost")
        status, job = await post_job(strict_gateway, webhook_url=url)
        assert status == 202, job  # a name is judged after DNS, when sending
        await publish(
            GenerationFailed(
                event_id=f"{job['id']}:failed",
                job_id=job["id"],
                error=JobError(stage="provider", code="provider_model_error", message="no"),
            )
        )

        async def settled() -> list[dict[str, Any]] | None:
            response = await strict_gateway.client.get(
                f"/v1/generations/{job['id']}/deliveries", headers=strict_gateway.auth()
            )
            data: list[dict[str, Any]] = response.json()["data"]
            return data if data and data[0]["status"] != "pending" else None

        (delivery,) = await eventually(settled, what="the delivery to be refused")
        await asyncio.sleep(0.2)

        assert delivery["status"] == "failed"
        assert "loopback" in delivery["attempts"][0]["error"]
        assert receiver.received == []
