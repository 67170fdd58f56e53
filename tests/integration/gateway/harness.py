"""A running gateway for integration tests: the real app and lifespan over real NATS and a DB.

Requests go through ``httpx.ASGITransport``; the lifespan runs for real, so the
outbox relay and the projector work exactly as in production.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import nats
from nats.js.api import RawStreamMsg
from nats.js.errors import NotFoundError
from opentelemetry.sdk.trace import TracerProvider
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.common.broker import build_broker, publish_event
from reelhouse.common.events import STREAM_NAME, Event
from reelhouse.common.settings import NatsSettings, SigningSettings, StorageSettings
from reelhouse.gateway.app import build_app
from reelhouse.gateway.auth.service import create_api_key
from reelhouse.gateway.dependencies import Services
from reelhouse.gateway.projector import DURABLE
from reelhouse.gateway.settings import OutboxSettings, Settings

BOOTSTRAP_KEY = "rh_integration-test-bootstrap-key"
SIGNING_KEYS = {"k1": SecretStr("gateway-test-secret")}
MEDIA_BASE_URL = "http://media.test"
WAIT_SECONDS = 15.0
ALL_PROVIDERS = ("sandbox", "sandbox-fal", "replicate", "fal")

T = TypeVar("T")


def gateway_settings(*, database_url: str, nats_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        nats=NatsSettings(url=nats_url, connect_timeout=2),
        signing=SigningSettings(keys=SIGNING_KEYS, active_key_id="k1"),
        media_base_url=MEDIA_BASE_URL,
        bootstrap_api_key=SecretStr(BOOTSTRAP_KEY),
        outbox=OutboxSettings(poll_seconds=0.5, retry_base_seconds=0.1, retry_max_seconds=0.5),
        # every shipped model can be submitted; tests of availability narrow this
        configured_providers=list(ALL_PROVIDERS),
        # uploads land in a directory of their own, never in the working tree
        storage=StorageSettings(
            backend="local",
            local_root=Path(tempfile.mkdtemp(prefix="reelhouse-gateway-objects-")),
        ),
    )


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, within: float = WAIT_SECONDS, what: str = ""
) -> T:
    """Poll ``probe`` until it returns something other than None; fail after ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what or probe}")
        await asyncio.sleep(0.05)


@dataclass
class Gateway:
    settings: Settings
    client: httpx.AsyncClient
    services: Services

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.services.sessions

    def auth(self, key: str = BOOTSTRAP_KEY) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    async def new_key(self, owner_id: str) -> str:
        async with self.sessions.begin() as session:
            return await create_api_key(session, owner_id=owner_id, name="test")

    async def submit(self, prompt: str = "a fox in the snow", **input_: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/v1/generations",
            json={"model": "sandbox/text-to-video", "input": {"prompt": prompt, **input_}},
            headers=self.auth(),
        )
        assert response.status_code == 202, response.text
        job: dict[str, Any] = response.json()
        return job

    async def submit_to(self, model: str, input_: dict[str, Any], **fields: Any) -> dict[str, Any]:
        """Submit to any model, with top-level fields such as ``deadline_seconds``."""
        response = await self.client.post(
            "/v1/generations",
            json={"model": model, "input": input_, **fields},
            headers=self.auth(),
        )
        assert response.status_code == 202, response.text
        job: dict[str, Any] = response.json()
        return job

    async def cancel(self, job_id: str, key: str = BOOTSTRAP_KEY) -> httpx.Response:
        return await self.client.post(f"/v1/generations/{job_id}/cancel", headers=self.auth(key))

    async def job(self, job_id: str, key: str = BOOTSTRAP_KEY) -> dict[str, Any]:
        response = await self.client.get(f"/v1/generations/{job_id}", headers=self.auth(key))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def wait_for_status(self, job_id: str, status: str) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            job = await self.job(job_id)
            return job if job["status"] == status else None

        return await eventually(probe, what=f"job {job_id} to be {status}")

    async def events(self, job_id: str) -> list[dict[str, Any]]:
        response = await self.client.get(f"/v1/generations/{job_id}/events", headers=self.auth())
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data

    async def wait_for_event(self, job_id: str, event_id: str) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            return next((e for e in await self.events(job_id) if e["id"] == event_id), None)

        return await eventually(probe, what=f"event {event_id} to be recorded")


@asynccontextmanager
async def running_gateway(
    settings: Settings, *, tracer_provider: TracerProvider | None = None
) -> AsyncIterator[Gateway]:
    app = build_app(settings, tracer_provider=tracer_provider)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield Gateway(settings=settings, client=client, services=app.state.services)


@asynccontextmanager
async def event_publisher(nats_url: str) -> AsyncIterator[Callable[[Event], Awaitable[None]]]:
    """Publish events by hand, as the dispatcher and downloader would."""
    nats = NatsSettings(url=nats_url)
    broker = build_broker(nats, name="test-publisher")
    await broker.connect()
    try:

        async def publish(event: Event) -> None:
            await publish_event(broker, event, source="test", stream=nats.stream)

        yield publish
    finally:
        await broker.stop()


async def messages_on(nats_url: str, subject: str) -> list[RawStreamMsg]:
    """Every message stored in the stream on ``subject``, oldest first."""
    nc = await nats.connect(nats_url, connect_timeout=2, max_reconnect_attempts=0)
    try:
        js = nc.jetstream()
        found: list[RawStreamMsg] = []
        seq = 1
        while True:
            try:
                msg = await js.get_msg(STREAM_NAME, seq=seq, subject=subject, next=True)
            except NotFoundError:
                return found
            found.append(msg)
            assert msg.seq is not None
            seq = msg.seq + 1
    finally:
        await nc.close()


async def wait_until_projected(
    nats_url: str, stream: str = STREAM_NAME, durable: str = DURABLE
) -> None:
    """Wait until the projector (or the consumer ``durable``) has acknowledged everything in
    the stream."""
    nc = await nats.connect(nats_url, connect_timeout=2, max_reconnect_attempts=0)
    try:
        js = nc.jetstream()

        async def settled() -> bool | None:
            info = await js.consumer_info(stream, durable)
            return True if info.num_ack_pending == 0 and info.num_pending == 0 else None

        await eventually(settled, what="the projector to acknowledge everything")
    finally:
        await nc.close()


async def publish_raw(nats_url: str, event: Event, *, msg_id: str) -> None:
    """Publish ``event`` under another message id: the broker cannot de-duplicate it."""
    nc = await nats.connect(nats_url, connect_timeout=2, max_reconnect_attempts=0)
    try:
        headers = {**event.ce_headers("test"), "Nats-Msg-Id": msg_id}
        await nc.jetstream().publish(
            event.subject, event.model_dump_json().encode(), headers=headers
        )
    finally:
        await nc.close()
