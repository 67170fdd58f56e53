"""A worker killed mid-download loses nothing: the message comes back and the job is stored once.

The downloader runs as its own process (``python -m reelhouse.downloader``), fetching a real
MP4 that the origin trickles out. It is killed with SIGKILL halfway through; JetStream
redelivers the unacknowledged message after the ack wait, a fresh worker takes it, and the
job ends with exactly one object and one ``gen.stored.v1``. Nothing partial is ever visible.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from pathlib import Path

import httpx
import pytest

from reelhouse.common.events import GenerationFailed, GenerationStored
from reelhouse.common.settings import NatsSettings, StorageSettings
from reelhouse.common.storage import ObjectNotFoundError, build_object_store
from tests.integration.downloader.jobs import output_ready
from tests.integration.downloader.observations import JetStreamEvents, stored_keys
from tests.integration.downloader.origin import Origin, Route
from tests.support.processes import ServiceRunner
from tests.support.s3 import s3_env
from tests.support.scrape import scrape, value

ACK_WAIT_SECONDS = 2.0
SLOW_PATH = "/slow/0.mp4"


def downloader_env(nats: NatsSettings, storage: StorageSettings, temp_dir: Path) -> dict[str, str]:
    s3 = storage.s3
    return {
        "REELHOUSE_NATS__URL": nats.url,
        "REELHOUSE_NATS__ACK_WAIT_SECONDS": str(ACK_WAIT_SECONDS),
        **s3_env(s3),
        "REELHOUSE_ALLOW_LOOPBACK": "true",
        "REELHOUSE_ALLOWED_SCHEMES": json.dumps(["http", "https"]),
        "REELHOUSE_TEMP_DIR": str(temp_dir),
        "REELHOUSE_LOG__JSON": "true",
        # health and metrics on an ephemeral port: several workers run side by side
        "REELHOUSE_HTTP__PORT": "0",
    }


def log_events(path: Path) -> list[dict[str, object]]:
    lines = path.read_text(errors="replace").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


async def test_a_worker_killed_mid_download_is_replaced_and_the_job_stored_once(
    origin: Origin,
    events: JetStreamEvents,
    nats_settings: NatsSettings,
    s3_store_settings: StorageSettings,
    large_mp4: bytes,
    temp_dir: Path,
    services: ServiceRunner,  # last: the workers stop before NATS and S3 go away
) -> None:
    # ~1.6 MB in 32 KiB steps, 50 ms apart: a couple of seconds per transfer
    url = origin.serve(SLOW_PATH, Route(large_mp4, chunk=32 * 1024, pause=0.05))
    env = downloader_env(nats_settings, s3_store_settings, temp_dir)
    event = output_ready(url)
    key = f"outputs/{event.job_id}/0.mp4"
    store = build_object_store(s3_store_settings)

    first = services.start("downloader", env)
    await events.publish(event)
    await origin.wait_sent(SLOW_PATH, len(large_mp4) // 3)
    first.kill()

    assert first.returncode == -9
    assert origin.sent[SLOW_PATH] < len(large_mp4)
    with pytest.raises(ObjectNotFoundError):
        await store.stat(key)  # no partial object is visible
    assert await events.events(GenerationStored.subject, event.job_id) == []

    port_file = temp_dir.parent / "second.port"
    second = services.start("downloader", {**env, "REELHOUSE_HTTP__PORT_FILE": str(port_file)})
    outcome = await events.wait_for(
        (GenerationStored.subject, GenerationFailed.subject), event.job_id
    )
    await events.wait_settled()

    assert isinstance(outcome, GenerationStored), outcome
    [asset] = outcome.assets
    assert asset.key == key
    assert asset.sha256 == hashlib.sha256(large_mp4).hexdigest()
    assert await asyncio.to_thread(stored_keys, s3_store_settings, f"outputs/{event.job_id}/") == [
        key
    ]
    stored = b"".join([chunk async for chunk in store.read_range(key)])
    assert stored == large_mp4
    assert len(await events.events(GenerationStored.subject, event.job_id)) == 1
    assert await events.events(GenerationFailed.subject, event.job_id) == []
    # the message came back: the new worker saw it as the second delivery and fetched again
    assert origin.hits[SLOW_PATH] == 2
    received = [
        e
        for e in await asyncio.to_thread(log_events, second.log_path)
        if e.get("event") == "download.received"
    ]
    assert [(e["job_id"], e["attempt"]) for e in received] == [(event.job_id, 2)]
    # and counted it as a redelivery, where an operator sees it
    port = await asyncio.to_thread(second.wait_port_file, port_file)
    async with httpx.AsyncClient(timeout=10.0) as client:
        samples = await scrape(client, f"http://127.0.0.1:{port}")
    redelivered = {"service": "downloader", "consumer": "downloader"}
    assert value(samples, "reelhouse_redeliveries_total", **redelivered) == 1
    assert value(samples, "reelhouse_download_bytes_total") == len(large_mp4)
    # the killed worker's partial file is all that is left behind; the new worker cleaned its own
    leftovers = await asyncio.to_thread(os.listdir, temp_dir)
    assert len(leftovers) <= 1
