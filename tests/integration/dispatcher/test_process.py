"""``python -m reelhouse.dispatcher`` as its own process: consumers appear, SIGTERM ends it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
from nats.js.errors import NotFoundError

from reelhouse.common.events import STREAM_NAME
from reelhouse.dispatcher.handlers import DISPATCH_CONSUMER, POLL_CONSUMER
from tests.support.nats import NatsServer
from tests.support.ports import free_port
from tests.support.processes import ServiceProcess


async def test_process_creates_its_durable_consumers_and_stops_cleanly(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    port = free_port()
    service = ServiceProcess(
        "dispatcher",
        {
            "REELHOUSE_NATS__URL": nats_server.url,
            "REELHOUSE_LOG__JSON": "true",
            "REELHOUSE_HTTP__PORT": str(port),
        },
        tmp_path / "dispatcher.log",
    )
    service.start()
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        found: set[str] = set()
        for _ in range(300):  # up to 15 s
            assert service.running, service.log_tail()
            for durable in (DISPATCH_CONSUMER, POLL_CONSUMER):
                try:
                    await js.consumer_info(STREAM_NAME, durable)
                    found.add(durable)
                except NotFoundError:
                    pass
            if len(found) == 2:
                break
            await asyncio.sleep(0.05)
        assert found == {DISPATCH_CONSUMER, POLL_CONSUMER}, service.log_tail()
        service.wait_ready(f"http://127.0.0.1:{port}/healthz", timeout=10)
    finally:
        await nc.close()
        returncode = service.terminate(timeout=10)
    assert returncode == 0, service.log_tail()
    assert '"event": "dispatcher.ready"' in service.log_tail()
