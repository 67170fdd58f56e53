"""A running dispatcher against a real nats-server and a Replicate-protocol HTTP server.

Two providers: the real sandbox (``reelhouse.sandbox``), and the in-memory fake from
tests/unit/dispatcher served over HTTP for faults the sandbox does not offer
(5xx while polling, 429 on submit, statuses the client cannot parse).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import nats
import pytest
import uvicorn
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.api import ConsumerInfo
from pydantic import SecretStr, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from reelhouse.common.events import STREAM_NAME, Event, parse_event
from reelhouse.common.settings import HttpSettings, NatsSettings
from reelhouse.dispatcher.app import build_app
from reelhouse.dispatcher.settings import (
    ProvidersSettings,
    SandboxFalProviderSettings,
    SandboxProviderSettings,
    Settings,
    SubmitRetrySettings,
)
from reelhouse.sandbox.app import build_app as build_sandbox
from reelhouse.sandbox.settings import Settings as SandboxSettings
from tests.support.nats import NatsServer
from tests.support.ports import free_port
from tests.unit.dispatcher.replicate_fake import FakeReplicate

E = TypeVar("E", bound=Event)
WAIT_SECONDS = 20.0
PROVIDER_TOKEN = "test-token"


@contextlib.asynccontextmanager
async def serving(app: ASGIApp, port: int) -> AsyncIterator[None]:
    """``app`` on 127.0.0.1:``port`` with uvicorn, in this event loop."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, ws="none", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(1000):  # up to 10 s
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "HTTP server did not start"
    try:
        yield
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


def fake_asgi(fake: FakeReplicate) -> Starlette:
    async def endpoint(request: Request) -> Response:
        forwarded = httpx.Request(
            request.method,
            str(request.url),
            headers=request.headers.raw,
            content=await request.body(),
        )
        answer = fake.handle(forwarded)
        return Response(
            answer.content,
            status_code=answer.status_code,
            media_type=answer.headers.get("content-type"),
        )

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST"])])


@pytest.fixture
async def fake_provider() -> AsyncIterator[FakeReplicate]:
    port = free_port()
    fake = FakeReplicate(base_url=f"http://127.0.0.1:{port}", token=PROVIDER_TOKEN)
    async with serving(fake_asgi(fake), port):
        yield fake


@dataclass(frozen=True)
class Sandbox:
    """The real sandbox: Replicate protocol at ``url``, fal's over HTTPS at ``fal_url``."""

    url: str
    fal_url: str
    ca_file: Path

    async def prediction(self, prediction_id: str) -> dict[str, Any]:
        """What the sandbox saw of one prediction (its control endpoint)."""
        async with httpx.AsyncClient(base_url=self.url) as client:
            response = await client.get(f"/_sandbox/predictions/{prediction_id}")
            response.raise_for_status()
            found: dict[str, Any] = response.json()
            return found

    async def predictions(self) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=self.url) as client:
            response = await client.get("/_sandbox/predictions")
            response.raise_for_status()
            found: list[dict[str, Any]] = response.json()["results"]
            return found


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    """The real sandbox provider (both protocols), quick to queue and render."""
    port, fal_port = free_port(), free_port()
    url, fal_url = f"http://127.0.0.1:{port}", f"https://127.0.0.1:{fal_port}"
    settings = SandboxSettings(
        public_base_url=url,
        fal_port=fal_port,
        fal_public_base_url=fal_url,
        data_dir=tmp_path / "sandbox",
        queue_seconds=0.2,
        render_seconds=0.3,
    )
    async with serving(build_sandbox(settings), port):
        yield Sandbox(url=url, fal_url=fal_url, ca_file=settings.data_dir / "ca.pem")


@pytest.fixture
def sandbox_url(sandbox: Sandbox) -> str:
    return sandbox.url


class Bus:
    """Publishes like the gateway and records every ``gen.>`` event the stream keeps."""

    def __init__(self, nc: NatsClient) -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self.events: list[Event] = []
        self.http_url = ""
        self._arrived = asyncio.Event()

    async def on_message(self, msg: Msg) -> None:
        try:
            event = parse_event(msg.subject, msg.data)
        except (KeyError, ValidationError):
            return  # a poison message a test published: no event, the dead-letter tests read it
        self.events.append(event)
        self._arrived.set()

    async def publish(self, event: Event) -> None:
        await self.js.publish(
            event.subject,
            event.model_dump_json().encode(),
            headers=event.ce_headers("tests"),
            stream=STREAM_NAME,
        )

    def of(self, job_id: str, kind: type[E]) -> list[E]:
        return [e for e in self.events if e.job_id == job_id and isinstance(e, kind)]

    def for_job(self, job_id: str) -> list[Event]:
        return [e for e in self.events if e.job_id == job_id]

    async def wait_for(self, job_id: str, kind: type[E]) -> E:
        """The first event of ``kind`` for the job (bounded by WAIT_SECONDS)."""
        async with asyncio.timeout(WAIT_SECONDS):
            while not (found := self.of(job_id, kind)):
                self._arrived.clear()
                await self._arrived.wait()
        return found[0]

    async def wait_for_one(self, job_id: str, kind: type[E], accept: Callable[[E], bool]) -> E:
        """The first event of ``kind`` for the job that ``accept`` takes (bounded)."""
        async with asyncio.timeout(WAIT_SECONDS):
            while not (found := [e for e in self.of(job_id, kind) if accept(e)]):
                self._arrived.clear()
                await self._arrived.wait()
        return found[0]

    async def wait_for_any(self, job_id: str, *kinds: type[Event]) -> Event:
        """The first event of any of ``kinds`` for the job (bounded by WAIT_SECONDS)."""
        async with asyncio.timeout(WAIT_SECONDS):
            while not (found := [e for e in self.for_job(job_id) if isinstance(e, kinds)]):
                self._arrived.clear()
                await self._arrived.wait()
        return found[0]

    async def consumer(self, durable: str) -> ConsumerInfo:
        info: ConsumerInfo = await self.js.consumer_info(STREAM_NAME, durable)
        return info

    async def drained(self, durable: str) -> ConsumerInfo:
        """The consumer once nothing is pending or unacknowledged (checked every 50 ms)."""
        for _ in range(int(WAIT_SECONDS / 0.05)):
            info = await self.consumer(durable)
            if not info.num_pending and not info.num_ack_pending:
                return info
            await asyncio.sleep(0.05)
        raise TimeoutError(f"consumer {durable} still busy: {info}")


def dispatcher_settings(
    nats_url: str, provider_url: str, *, sandbox: Sandbox | None = None, **overrides: Any
) -> Settings:
    """A test dispatcher: provider ``sandbox`` at ``provider_url`` (and ``sandbox-fal`` at the
    sandbox's fal listener when given), quick polls; webhooks only when ``webhook_base_url``
    is passed (``"self"``: this dispatcher's own HTTP port)."""
    port = free_port()
    providers = ProvidersSettings(
        sandbox=SandboxProviderSettings(base_url=provider_url, api_token=SecretStr(PROVIDER_TOKEN))
    )
    if sandbox is not None:
        providers = ProvidersSettings(
            sandbox=providers.sandbox,
            sandbox_fal=SandboxFalProviderSettings(
                queue_url=sandbox.fal_url,
                jwks_url=f"{sandbox.fal_url}/.well-known/jwks.json",
                ca_file=sandbox.ca_file,
            ),
        )
    if overrides.get("webhook_base_url") == "self":
        overrides["webhook_base_url"] = f"http://127.0.0.1:{port}"
    values: dict[str, Any] = {
        "nats": NatsSettings(url=nats_url),
        "http": HttpSettings(port=port),
        "providers": providers,
        "poll_interval_seconds": 0.1,
        "submit_retry": SubmitRetrySettings(max_delay_seconds=1.0),
        **overrides,
    }
    return Settings(**values)


@contextlib.asynccontextmanager
async def running_dispatcher(
    nats_url: str, provider_url: str | None = None, *, settings: Settings | None = None
) -> AsyncIterator[Bus]:
    """The dispatcher app (HTTP and consumers, as ``python -m`` runs it) and a bus to watch it."""
    if settings is None:
        assert provider_url is not None
        settings = dispatcher_settings(nats_url, provider_url)
    async with serving(build_app(settings), settings.http.port):
        nc = await nats.connect(nats_url)
        try:
            bus = Bus(nc)
            bus.http_url = f"http://127.0.0.1:{settings.http.port}"
            # read the stream, as the other services do: what the broker de-duplicated is not there
            await bus.js.subscribe(
                "gen.>", stream=STREAM_NAME, cb=bus.on_message, ordered_consumer=True
            )
            yield bus
        finally:
            await nc.close()


@pytest.fixture
async def sandbox_bus(nats_server: NatsServer, sandbox_url: str) -> AsyncIterator[Bus]:
    async with running_dispatcher(nats_server.url, sandbox_url) as bus:
        yield bus


@pytest.fixture
async def fake_bus(nats_server: NatsServer, fake_provider: FakeReplicate) -> AsyncIterator[Bus]:
    async with running_dispatcher(nats_server.url, fake_provider.base_url) as bus:
        yield bus
