"""SSE across two real gateway processes on one database and one NATS server.

Gateway #1 runs with its projector off, so every transition a client of #1 sees was
projected by gateway #2 and reached #1 as a ``gateway.projected.v1`` notice. The streams'
safety-net poll is set to a minute: within the bounds used here, only a notice can
deliver an event. The two gateways serve the whole module (one database: PostgreSQL with
TEST_DATABASE_URL, else SQLite), each test as owners of its own.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from reelhouse.common.events import Event, GenerationProgressed
from reelhouse.gateway.auth.service import create_api_key
from reelhouse.gateway.db.engine import create_engine, create_sessionmaker
from tests.integration.gateway.harness import BOOTSTRAP_KEY, event_publisher
from tests.integration.gateway.job_events import stored, submitted
from tests.support.nats import NatsServer
from tests.support.processes import ServiceProcess, ServiceRunner
from tests.support.sse import RawStream, Received

Publish = Callable[[Event], Awaitable[None]]

STEP = 20.0  # bound on each awaited event (the safety-net poll is 60 s)
SSE = {"Accept": "text/event-stream"}
MAX_STREAMS = 2


@dataclass
class GatewayProcess:
    process: ServiceProcess
    base_url: str


def _env(database_url: str, nats_url: str, port_file: Path, **extra: str) -> dict[str, str]:
    return {
        "REELHOUSE_DATABASE_URL": database_url,
        "REELHOUSE_NATS__URL": nats_url,
        "REELHOUSE_SIGNING__KEYS": json.dumps({"k1": "gateway-test-secret"}),
        "REELHOUSE_SIGNING__ACTIVE_KEY_ID": "k1",
        "REELHOUSE_MEDIA_BASE_URL": "http://media.test",
        "REELHOUSE_BOOTSTRAP_API_KEY": BOOTSTRAP_KEY,
        "REELHOUSE_HTTP__HOST": "127.0.0.1",
        "REELHOUSE_HTTP__PORT": "0",
        "REELHOUSE_HTTP__PORT_FILE": str(port_file),
        "REELHOUSE_LOG__JSON": "true",
        "REELHOUSE_OUTBOX__POLL_SECONDS": "0.5",
        "REELHOUSE_SSE__KEEPALIVE_SECONDS": "0.5",
        "REELHOUSE_SSE__POLL_SECONDS": "60",
        "REELHOUSE_SSE__MAX_STREAMS_PER_OWNER": str(MAX_STREAMS),
        **extra,
    }


def _start(services: ServiceRunner, env: dict[str, str], port_file: Path) -> GatewayProcess:
    process = services.start("gateway", env)
    port = process.wait_port_file(port_file)
    base_url = f"http://127.0.0.1:{port}"
    process.wait_ready(f"{base_url}/readyz")
    process.wait_logged("nats.connected", timeout=30)
    return GatewayProcess(process=process, base_url=base_url)


@pytest.fixture(scope="module")
def gateways(
    module_process_database_url: str,
    module_nats_server: NatsServer,
    module_services: ServiceRunner,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[GatewayProcess, GatewayProcess]:
    """#1 serves streams with its projector off; #2 projects (one after the other: migrations)."""
    ports = tmp_path_factory.mktemp("ports")
    first = _start(
        module_services,
        _env(
            module_process_database_url,
            module_nats_server.url,
            ports / "gw1.port",
            REELHOUSE_PROJECTOR_ENABLED="false",
        ),
        ports / "gw1.port",
    )
    second = _start(
        module_services,
        _env(module_process_database_url, module_nats_server.url, ports / "gw2.port"),
        ports / "gw2.port",
    )
    return first, second


@pytest.fixture
async def auth(module_process_database_url: str) -> dict[str, str]:
    """The headers of an owner of this test's own (the gateways outlive the test)."""
    key = await _key_for(f"owner-{uuid.uuid4().hex[:12]}", module_process_database_url)
    return {"Authorization": f"Bearer {key}"}


def _progress(job_id: str, n: int) -> GenerationProgressed:
    return GenerationProgressed(
        event_id=f"{job_id}:progress:{n}",
        job_id=job_id,
        provider_status="processing",
        running=True,
        queue_position=3 - n if n < 3 else None,
        percent=25.0 * n,
        logs=f"step {n}",
    )


async def _submit(client: httpx.AsyncClient, base_url: str) -> str:
    response = await client.post(
        f"{base_url}/v1/generations",
        json={"model": "sandbox/text-to-video", "input": {"prompt": "a heron"}},
    )
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    return job_id


async def _history(client: httpx.AsyncClient, base_url: str, job_id: str) -> list[str]:
    response = await client.get(f"{base_url}/v1/generations/{job_id}/events")
    assert response.status_code == 200, response.text
    return [event["id"] for event in response.json()["data"]]


@asynccontextmanager
async def _open(
    client: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None
) -> AsyncIterator[RawStream]:
    async with client.stream("GET", url, headers={**SSE, **(headers or {})}) as response:
        yield RawStream(response)


async def _expect(stream: RawStream) -> Received:
    event = await stream.next_event(within=STEP)
    assert event is not None, "the stream ended early"
    return event


async def test_a_stream_on_one_gateway_follows_transitions_the_other_projected(
    gateways: tuple[GatewayProcess, GatewayProcess],
    module_nats_server: NatsServer,
    module_process_database_url: str,
    auth: dict[str, str],
) -> None:
    gw1, gw2 = gateways
    async with (
        httpx.AsyncClient(timeout=STEP, headers=auth) as client,
        event_publisher(module_nats_server.url) as publish,
    ):
        job_id = await _submit(client, gw1.base_url)
        url = f"{gw1.base_url}/v1/generations/{job_id}/events"
        async with _open(client, url) as stream:
            requested = await _expect(stream)
            assert (requested.event, requested.data["status"]) == (
                "reelhouse.generation.requested.v1",
                "queued",
            )
            assert stream.retry is not None
            # the first events arrive while the job is still going: nothing buffers them
            await publish(submitted(job_id))
            assert (await _expect(stream)).data["status"] == "submitted"
            await stream.keep_alive(within=STEP)
            await publish(_progress(job_id, 1))
            progress = await _expect(stream)
            assert progress.data["status"] == "running"
            assert progress.data["percent"] == 25.0
            assert progress.data["queue_position"] == 2
            assert progress.data["logs"] == "step 1"
            await publish(_progress(job_id, 2))
            await publish(stored(job_id))
            assert (await _expect(stream)).data["percent"] == 50.0
            final = await _expect(stream)
            assert (final.id, final.data["status"]) == (f"{job_id}:stored", "succeeded")
            assert await stream.next_event(within=STEP) is None  # closed after the final state

        history = await _history(client, gw2.base_url, job_id)
        assert len(history) == 5
        # resume on the other gateway after the second event: the rest, once each
        async with _open(
            client,
            f"{gw2.base_url}/v1/generations/{job_id}/events",
            {"Last-Event-ID": history[1]},
        ) as resumed:
            rest = [event.id async for event in _drain(resumed)]
        assert rest == history[2:]

        # another owner: the job does not exist for them, on either gateway
        bob_key = await _key_for(f"bob-{uuid.uuid4().hex[:12]}", module_process_database_url)
        bob = {"Authorization": f"Bearer {bob_key}"}
        for gateway in (gw1, gw2):
            response = await client.get(
                f"{gateway.base_url}/v1/generations/{job_id}/events",
                headers={**bob, "Accept": "text/event-stream"},
            )
            assert response.status_code == 404
            assert response.json()["code"] == "not_found"

    assert gw1.process.records("projector.event") == []
    assert gw2.process.records("projector.event")


async def _key_for(owner_id: str, database_url: str) -> str:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine).begin() as session:
            return await create_api_key(session, owner_id=owner_id, name="test")
    finally:
        await engine.dispose()


async def _eventually_accepted(client: httpx.AsyncClient, url: str) -> None:
    async with asyncio.timeout(STEP):
        while True:
            async with client.stream("GET", url, headers=SSE) as response:
                if response.status_code == 200:
                    return
                assert response.status_code == 429
            await asyncio.sleep(0.1)


async def _drain(stream: RawStream) -> AsyncIterator[Received]:
    while (event := await stream.next_event(within=STEP)) is not None:
        yield event


async def test_owner_stream_shows_every_job_and_resumes_without_gaps_or_repeats(
    gateways: tuple[GatewayProcess, GatewayProcess],
    module_nats_server: NatsServer,
    auth: dict[str, str],
) -> None:
    gw1, gw2 = gateways
    seen: list[Received] = []
    async with (
        httpx.AsyncClient(timeout=STEP, headers=auth) as client,
        event_publisher(module_nats_server.url) as publish,
    ):
        async with _open(client, f"{gw1.base_url}/v1/events") as stream:
            await stream.keep_alive(within=STEP)  # the stream is open before the jobs exist
            jobs = [await _submit(client, gw2.base_url) for _ in range(2)]
            for job_id in jobs:
                await publish(submitted(job_id))
            while len(seen) < 4:
                seen.append(await _expect(stream))
            # over the limit while two streams are open (this one and one more)
            async with _open(client, f"{gw1.base_url}/v1/events"):
                refused = await client.get(f"{gw1.base_url}/v1/events", headers=SSE)
                assert refused.status_code == 429
                assert refused.json()["code"] == "too_many_streams"
            # a client that went away gave its slot back
            await _eventually_accepted(client, f"{gw1.base_url}/v1/events")

        # disconnected: more happens meanwhile, some of it for both jobs
        for n in (1, 2):
            for job_id in jobs:
                await publish(_progress(job_id, n))
        for job_id in jobs:
            await publish(stored(job_id))

        async with _open(
            client, f"{gw2.base_url}/v1/events?last_event_id={seen[-1].id}"
        ) as resumed:
            while sum(e.data["status"] == "succeeded" for e in seen) < 2:
                seen.append(await _expect(resumed))

        ids = [event.id for event in seen]
        assert len(ids) == len(set(ids)), "an event was repeated"
        for job_id in jobs:
            mine = [event.id for event in seen if event.data["job_id"] == job_id]
            assert mine == await _history(client, gw1.base_url, job_id)


async def test_shutdown_ends_open_streams_and_the_process_exits(
    module_process_database_url: str,
    module_nats_server: NatsServer,
    services: ServiceRunner,
    tmp_path: Path,
    auth: dict[str, str],
) -> None:
    # a gateway of its own to shut down (its projector off, as #1's), the module's two go on
    own = _start(
        services,
        _env(
            module_process_database_url,
            module_nats_server.url,
            tmp_path / "own.port",
            REELHOUSE_PROJECTOR_ENABLED="false",
        ),
        tmp_path / "own.port",
    )
    async with httpx.AsyncClient(timeout=STEP, headers=auth) as client:
        job_id = await _submit(client, own.base_url)
        async with _open(client, f"{own.base_url}/v1/generations/{job_id}/events") as stream:
            await _expect(stream)
            exit_code = asyncio.create_task(asyncio.to_thread(own.process.terminate, timeout=15))
            assert await stream.next_event(within=STEP) is None
            assert stream.ended
        assert await exit_code == 0
    assert own.process.records("sse.closing")
