"""Webhooks, signed as the real providers sign them, verified with the providers' recipes
(Replicate: the official client's ``webhooks.validate``; fal: Ed25519 over the JWKS key)
and received by a small local receiver; the webhook faults, over both protocols."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from replicate.client import Client
from replicate.webhook import InvalidSignatureError

from tests.integration.sandbox.conftest import RunningSandbox
from tests.integration.sandbox.webhook_receiver import Received, WebhookReceiver, webhook_receiver

pytestmark = pytest.mark.timeout(120)

SMALL: dict[str, Any] = {"prompt": "webhooks", "width": 160, "height": 90, "duration": 1}
TOLERANCE_SECONDS = 300
PROTOCOLS = ["replicate", "fal"]


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as running:
        yield running


def replicate_valid(client: Client, received: Received) -> bool:
    secret = client.webhooks.default.secret()
    try:
        client.webhooks.validate(
            headers=received.headers,
            body=received.body.decode(),
            secret=secret,
            tolerance=TOLERANCE_SECONDS,
        )
    except InvalidSignatureError:
        return False
    return True


def fal_valid(sandbox: RunningSandbox, received: Received) -> bool:
    """fal's recipe: four headers, |now - timestamp| <= 300, Ed25519 over
    ``request_id\\nuser_id\\ntimestamp\\nsha256hex(body)`` under any key of the JWKS."""
    headers = received.headers
    request_id = headers["x-fal-webhook-request-id"]
    user_id = headers["x-fal-webhook-user-id"]
    timestamp = headers["x-fal-webhook-timestamp"]
    signature = bytes.fromhex(headers["x-fal-webhook-signature"])
    assert abs(time.time() - int(timestamp)) <= TOLERANCE_SECONDS
    message = "\n".join([request_id, user_id, timestamp, hashlib.sha256(received.body).hexdigest()])
    with httpx.Client(verify=sandbox.trusting_ca(), timeout=30) as tls:
        keys = tls.get(f"{sandbox.fal_url}/.well-known/jwks.json").json()["keys"]
    for key in keys:
        raw = base64.urlsafe_b64decode(key["x"] + "=" * (-len(key["x"]) % 4))
        try:
            Ed25519PublicKey.from_public_bytes(raw).verify(signature, message.encode())
        except InvalidSignature:
            continue
        return True
    return False


def body_of(received: Received) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(received.body)
    return body


def start(
    protocol: str,
    sandbox: RunningSandbox,
    client: Client,
    url: str,
    **extra: Any,
) -> str:
    """A tiny video job on ``protocol`` whose webhooks go to ``url``; its id."""
    if protocol == "replicate":
        created = client.models.predictions.create(
            model="sandbox/text-to-video",
            input={**SMALL, **extra},
            webhook=url,
            webhook_events_filter=["completed"],
        )
        return created.id
    (submitted,) = sandbox.fal(
        {
            "op": "submit",
            "app": "sandbox-fal/text-to-video",
            "arguments": {**SMALL, **extra},
            "webhook_url": url,
        }
    )
    request_id: str = submitted["ok"]["request_id"]
    return request_id


def valid(protocol: str, sandbox: RunningSandbox, client: Client, received: Received) -> bool:
    if protocol == "replicate":
        return replicate_valid(client, received)
    return fal_valid(sandbox, received)


def message_id(protocol: str, received: Received) -> str:
    key = "webhook-id" if protocol == "replicate" else "x-fal-webhook-request-id"
    return received.headers[key]


def terminal(protocol: str, received: Received) -> bool:
    status = body_of(received)["status"]
    return status in (
        {"succeeded", "failed", "canceled"} if protocol == "replicate" else {"OK", "ERROR"}
    )


def test_replicate_webhooks_for_the_requested_events_are_signed(
    client: Client, receiver: WebhookReceiver, sandbox: RunningSandbox
) -> None:
    created = client.models.predictions.create(
        model="sandbox/text-to-video",
        input=SMALL,
        webhook=f"{receiver.url}?job=42",
        webhook_events_filter=["start", "completed"],
    )
    got = receiver.wait_for(lambda r: len(r) >= 2)
    assert [body_of(r)["status"] for r in got] == ["starting", "succeeded"]
    assert all(r.path == "/hook?job=42" for r in got)
    assert all(replicate_valid(client, r) for r in got)
    done = body_of(got[1])
    assert done["id"] == created.id
    assert done["output"][0].startswith(f"{sandbox.url}/files/{created.id}/")
    assert len({r.headers["webhook-id"] for r in got}) == 2
    # the secret the sandbox serves is the one it keeps in data_dir
    secret_file = sandbox.settings.data_dir / "replicate-webhook.secret"
    assert client.webhooks.default.secret().key == secret_file.read_text()
    control = sandbox.control(created.id)
    assert [w["event"] for w in control["webhooks"]] == ["start", "completed"]
    assert all(w["delivered"] for w in control["webhooks"])


def test_replicate_default_events_send_one_message_at_the_end(
    client: Client, receiver: WebhookReceiver
) -> None:
    created = client.models.predictions.create(
        model="sandbox/text-to-video", input=SMALL, webhook=receiver.url
    )
    (done,) = receiver.wait_for(lambda r: len(r) >= 1)
    assert body_of(done)["status"] == "succeeded"
    assert body_of(done)["id"] == created.id
    assert len(receiver.quiet_for(0.5)) == 1


def test_an_invalid_events_filter_is_rejected(
    http: httpx.Client, receiver: WebhookReceiver
) -> None:
    answer = http.post(
        "/v1/models/sandbox/text-to-video/predictions",
        json={"input": SMALL, "webhook": receiver.url, "webhook_events_filter": ["finished"]},
    )
    assert answer.status_code == 422


def test_fal_webhook_carries_the_result_and_a_valid_ed25519_signature(
    sandbox: RunningSandbox, receiver: WebhookReceiver
) -> None:
    (submitted,) = sandbox.fal(
        {
            "op": "submit",
            "app": "sandbox-fal/text-to-video",
            "arguments": SMALL,
            "webhook_url": f"{receiver.url}?job=7",
        }
    )
    request_id = submitted["ok"]["request_id"]
    (got,) = receiver.wait_for(lambda r: len(r) >= 1)
    assert got.path == "/hook?job=7"
    assert fal_valid(sandbox, got)
    body = body_of(got)
    assert body["request_id"] == request_id == got.headers["x-fal-webhook-request-id"]
    assert body["status"] == "OK"
    assert body["gateway_request_id"] == sandbox.control(request_id)["gateway_request_id"]
    assert body["payload"]["video"]["content_type"] == "video/mp4"


def test_fal_webhook_of_a_failed_request_is_an_error(
    sandbox: RunningSandbox, client: Client, receiver: WebhookReceiver
) -> None:
    start("fal", sandbox, client, receiver.url, sandbox_fault="model_error")
    (got,) = receiver.wait_for(lambda r: len(r) >= 1)
    body = body_of(got)
    assert body["status"] == "ERROR"
    assert body["error"] == "Invalid status code: 500"
    assert body["payload"]["error_type"] == "internal_server_error"
    assert fal_valid(sandbox, got)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_failing_receiver_gets_retries_with_the_same_id(
    protocol: str, sandbox: RunningSandbox, client: Client, receiver: WebhookReceiver
) -> None:
    receiver.answer_next(500, 307)  # a redirect is a failure too: never followed
    prediction_id = start(protocol, sandbox, client, receiver.url)
    got = receiver.wait_for(lambda r: len(r) >= 3)
    assert len({message_id(protocol, r) for r in got}) == 1
    assert all(valid(protocol, sandbox, client, r) for r in got)
    (delivery,) = sandbox.control(prediction_id)["webhooks"]
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 307, 200]
    assert delivery["delivered"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_duplicate_webhook_delivers_every_message_twice(
    protocol: str, sandbox: RunningSandbox, client: Client, receiver: WebhookReceiver
) -> None:
    start(protocol, sandbox, client, receiver.url, sandbox_fault="duplicate_webhook")
    first, second = receiver.wait_for(lambda r: len(r) >= 2)
    assert first.body == second.body
    assert message_id(protocol, first) == message_id(protocol, second)
    assert valid(protocol, sandbox, client, first)
    assert valid(protocol, sandbox, client, second)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_out_of_order_webhook_sends_a_stale_message_after_the_end(
    protocol: str, sandbox: RunningSandbox, client: Client, receiver: WebhookReceiver
) -> None:
    start(protocol, sandbox, client, receiver.url, sandbox_fault="out_of_order_webhook")
    first, second = receiver.wait_for(lambda r: len(r) >= 2)
    assert terminal(protocol, first)
    assert not terminal(protocol, second)
    stale = "processing" if protocol == "replicate" else "IN_PROGRESS"
    assert body_of(second)["status"] == stale
    assert valid(protocol, sandbox, client, second)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_no_webhook_sends_nothing_but_the_job_succeeds(
    protocol: str, sandbox: RunningSandbox, client: Client, receiver: WebhookReceiver
) -> None:
    prediction_id = start(protocol, sandbox, client, receiver.url, sandbox_fault="no_webhook")
    for _ in range(500):
        control = sandbox.control(prediction_id)
        if control["status"] != "starting" and control["status"] != "processing":
            break
        time.sleep(0.02)
    assert control["status"] == "succeeded"
    assert receiver.quiet_for(0.5) == []
    assert sandbox.control(prediction_id)["webhooks"] == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_bad_signature_fails_verification_but_polling_still_succeeds(
    protocol: str, sandbox: RunningSandbox, client: Client, receiver: WebhookReceiver
) -> None:
    prediction_id = start(protocol, sandbox, client, receiver.url, sandbox_fault="bad_signature")
    (got,) = receiver.wait_for(lambda r: len(r) >= 1)
    assert terminal(protocol, got)
    assert not valid(protocol, sandbox, client, got)
    if protocol == "replicate":
        assert client.predictions.get(prediction_id).status == "succeeded"
    else:
        (status,) = sandbox.fal(
            {"op": "status_by_id", "app": "sandbox-fal/text-to-video", "request_id": prediction_id}
        )
        assert status["ok"]["status"] == "Completed"
        assert status["ok"]["error"] is None
    assert sandbox.control(prediction_id)["webhooks"][0]["signature_valid"] is False
