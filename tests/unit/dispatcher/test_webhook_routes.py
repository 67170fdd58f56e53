"""The webhook receiver over HTTP: only a verified webhook triggers a look at the provider."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from reelhouse.dispatcher.webhooks import replicate
from reelhouse.dispatcher.webhooks.routes import build_routes
from reelhouse.dispatcher.webhooks.verifiers import ReplicateVerifier, WebhookVerifier

SECRET = "whsec_" + base64.b64encode(b"reelhouse-test-secret-0123456789").decode()
BODY = b'{"id":"p1","status":"processing"}'


class Triggers:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str, str]] = []
        self.current = True

    async def __call__(self, provider: str, job_id: str, request_id: str, token: str) -> bool:
        self.seen.append((provider, job_id, request_id, token))
        return self.current


@pytest.fixture
def triggers() -> Triggers:
    return Triggers()


@pytest.fixture
async def client(triggers: Triggers) -> AsyncIterator[httpx.AsyncClient]:
    source = replicate.SecretSource(SECRET, None)
    verifiers: dict[str, WebhookVerifier] = {
        "sandbox": ReplicateVerifier(source, tolerance_seconds=300)
    }
    app = Starlette(routes=build_routes(verifiers, triggers))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dispatcher.test") as c:
        yield c


def signed(body: bytes = BODY, webhook_id: str = "msg_1") -> dict[str, str]:
    stamp = int(time.time())
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": replicate.sign(SECRET, webhook_id, stamp, body),
        "content-type": "application/json",
    }


async def test_verified_webhook_triggers_a_look_at_that_request(
    client: httpx.AsyncClient, triggers: Triggers
) -> None:
    response = await client.post("/webhooks/sandbox/job-1", content=BODY, headers=signed())

    assert response.status_code == 200
    assert response.json() == {"status": "accepted"}
    assert triggers.seen == [("sandbox", "job-1", "p1", "msg_1")]


async def test_forged_webhook_is_refused_and_triggers_nothing(
    client: httpx.AsyncClient, triggers: Triggers
) -> None:
    headers = signed()
    forged = BODY.replace(b"processing", b"succeeded")

    response = await client.post("/webhooks/sandbox/job-1", content=forged, headers=headers)

    assert response.status_code == 401
    assert triggers.seen == []


async def test_unsigned_webhook_is_refused(client: httpx.AsyncClient, triggers: Triggers) -> None:
    response = await client.post("/webhooks/sandbox/job-1", content=BODY)

    assert response.status_code == 401
    assert triggers.seen == []


async def test_webhook_for_an_attempt_no_longer_current_is_acknowledged_and_ignored(
    client: httpx.AsyncClient, triggers: Triggers
) -> None:
    triggers.current = False

    response = await client.post("/webhooks/sandbox/job-1", content=BODY, headers=signed())

    assert response.status_code == 200
    assert response.json() == {"status": "ignored"}


async def test_webhook_for_an_unknown_provider_is_not_found(
    client: httpx.AsyncClient, triggers: Triggers
) -> None:
    response = await client.post("/webhooks/nobody/job-1", content=BODY, headers=signed())

    assert response.status_code == 404
    assert triggers.seen == []


async def test_signed_body_that_is_not_a_prediction_is_refused(
    client: httpx.AsyncClient, triggers: Triggers
) -> None:
    body = b'["not", "a", "prediction"]'

    response = await client.post("/webhooks/sandbox/job-1", content=body, headers=signed(body))

    assert response.status_code == 401
    assert triggers.seen == []
