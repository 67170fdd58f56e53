"""``Idempotency-Key`` on ``POST /v1/generations``: one job per owner and key, whatever repeats."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from reelhouse.gateway.db.models import IdempotencyKey, Job, OutboxMessage
from reelhouse.gateway.idempotency.header import fingerprint
from reelhouse.gateway.settings import IdempotencySettings, Settings
from tests.integration.gateway.harness import BOOTSTRAP_KEY, Gateway, running_gateway

BODY = {"model": "sandbox/text-to-video", "input": {"prompt": "a fox", "duration": 2}}
BODY_HASH = fingerprint(json.dumps(BODY).encode())


async def post(
    gateway: Gateway, key: str, body: Any = BODY, *, api_key: str = BOOTSTRAP_KEY
) -> httpx.Response:
    return await gateway.client.post(
        "/v1/generations",
        json=body,
        headers={**gateway.auth(api_key), "Idempotency-Key": key},
    )


async def count(
    gateway: Gateway, model: type[Job] | type[OutboxMessage] | type[IdempotencyKey]
) -> int:
    async with gateway.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def add_claim(gateway: Gateway, key: str, **fields: Any) -> None:
    now = datetime.now(UTC)
    row = {
        "owner_id": "dev",
        "key": key,
        "request_hash": BODY_HASH,
        "token": "f" * 32,
        "job_id": None,
        "response_status": None,
        "locked_until": now + timedelta(minutes=5),
        "created_at": now,
        "expires_at": now + timedelta(days=1),
        **fields,
    }
    async with gateway.sessions.begin() as session:
        session.add(IdempotencyKey(**row))


async def test_a_repeat_returns_the_same_job_and_makes_no_second(gateway: Gateway) -> None:
    first = await post(gateway, "order-1")
    again = await post(gateway, "order-1")

    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["location"] == first.headers["location"]
    assert await count(gateway, Job) == 1
    assert await count(gateway, OutboxMessage) == 1


async def test_the_same_json_written_differently_is_the_same_request(gateway: Gateway) -> None:
    first = await post(gateway, "order-2")
    reordered = json.dumps({"input": {"duration": 2, "prompt": "a fox"}, "model": BODY["model"]})

    again = await gateway.client.post(
        "/v1/generations",
        content="  " + reordered + "\n",
        headers={
            **gateway.auth(),
            "Idempotency-Key": "order-2",
            "Content-Type": "application/json",
        },
    )

    assert again.status_code == 202
    assert again.json()["id"] == first.json()["id"]


async def test_the_same_key_with_another_body_is_422(gateway: Gateway) -> None:
    await post(gateway, "order-3")

    other = await post(gateway, "order-3", {**BODY, "input": {"prompt": "a wolf"}})

    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert await count(gateway, Job) == 1


async def test_keys_belong_to_their_owner(gateway: Gateway) -> None:
    other_owner = await gateway.new_key("someone-else")

    mine = await post(gateway, "shared-name")
    theirs = await post(gateway, "shared-name", api_key=other_owner)
    theirs_changed = await post(
        gateway, "shared-name", {**BODY, "model": "x/y"}, api_key=other_owner
    )

    assert theirs.status_code == 202
    assert theirs.json()["id"] != mine.json()["id"]
    assert "idempotent-replayed" not in theirs.headers
    # owner B's record holds B's body: A's job is never visible through the key
    assert theirs_changed.json()["code"] == "idempotency_key_reused"
    replay = await post(gateway, "shared-name", api_key=other_owner)
    assert replay.json()["id"] == theirs.json()["id"]


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("", id="empty"),
        pytest.param("x" * 256, id="too-long"),
        pytest.param("caf\u00e9", id="not-ascii"),
        pytest.param("tab\there", id="control"),
        pytest.param('""', id="empty-sf-string"),
    ],
)
async def test_malformed_keys_are_400(gateway: Gateway, header: str) -> None:
    response = await gateway.client.post(
        "/v1/generations",
        json=BODY,
        headers=[
            (b"Authorization", f"Bearer {BOOTSTRAP_KEY}".encode()),
            (b"Idempotency-Key", header.encode("latin-1")),
        ],
    )

    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_invalid"
    assert await count(gateway, Job) == 0


async def test_the_longest_key_and_a_quoted_one_are_accepted(gateway: Gateway) -> None:
    longest = await post(gateway, "k" * 255)
    quoted = await post(gateway, '"8e03978e-40d5-43e8-bc93-6894a57f9324"')
    bare = await post(gateway, "8e03978e-40d5-43e8-bc93-6894a57f9324")

    assert longest.status_code == quoted.status_code == 202
    assert bare.json()["id"] == quoted.json()["id"]  # the structured-field string, unquoted


async def test_a_key_still_in_flight_is_409(gateway: Gateway) -> None:
    await add_claim(gateway, "busy")

    response = await post(gateway, "busy")

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_in_flight"
    assert response.headers["retry-after"] == "1"
    assert await count(gateway, Job) == 0
    other_body = await post(gateway, "busy", {**BODY, "input": {"prompt": "a wolf"}})
    assert other_body.json()["code"] == "idempotency_key_reused"


async def test_a_crashed_claim_is_taken_over_after_its_lease(gateway: Gateway) -> None:
    await add_claim(gateway, "crashed", locked_until=datetime.now(UTC) - timedelta(seconds=1))

    response = await post(gateway, "crashed")
    again = await post(gateway, "crashed")

    assert response.status_code == 202
    assert again.json()["id"] == response.json()["id"]
    assert await count(gateway, Job) == 1


async def test_a_refused_request_does_not_use_up_its_key(gateway: Gateway) -> None:
    refused = await post(gateway, "fix-and-retry", {**BODY, "model": "acme/nothing"})
    invalid = await post(gateway, "fix-and-retry", {**BODY, "input": {"duration": 999}})
    fixed = await post(gateway, "fix-and-retry")

    assert refused.status_code == 422
    assert refused.json()["code"] == "unknown_model"
    assert invalid.status_code == 422
    assert invalid.json()["code"] == "validation_error"
    assert fixed.status_code == 202
    assert await count(gateway, IdempotencyKey) == 1


async def test_concurrent_repeats_make_exactly_one_job(gateway: Gateway) -> None:
    responses = await asyncio.gather(*(post(gateway, "burst") for _ in range(6)))

    created = [
        r for r in responses if r.status_code == 202 and "idempotent-replayed" not in r.headers
    ]
    assert len(created) == 1
    for response in responses:
        assert response.status_code in (202, 409), response.text
        if response.status_code == 202:
            assert response.json()["id"] == created[0].json()["id"]
    assert await count(gateway, Job) == 1


async def test_expired_keys_are_forgotten_a_bounded_batch_at_a_time(settings: Settings) -> None:
    settings = settings.model_copy(
        update={"idempotency": IdempotencySettings(ttl_seconds=3600, cleanup_batch=2)}
    )
    async with running_gateway(settings) as gateway:
        long_ago = datetime.now(UTC) - timedelta(days=2)
        for index in range(5):
            await add_claim(gateway, f"old-{index}", created_at=long_ago, expires_at=long_ago)
        first = await post(gateway, "old-0")  # an expired key may be used again

        assert first.status_code == 202
        assert "idempotent-replayed" not in first.headers
        # two expired ones (old-0 among them, the oldest first) went with the batch, plus the
        # new claim for old-0: 5 - 2 + 1
        assert await count(gateway, IdempotencyKey) == 4
        await post(gateway, "new-1")
        await post(gateway, "new-2")
        assert await count(gateway, IdempotencyKey) == 3  # every expired one gone now
        async with gateway.sessions() as session:
            rows = (await session.execute(select(IdempotencyKey))).scalars().all()
        assert all(row.expires_at - row.created_at == timedelta(hours=1) for row in rows)
