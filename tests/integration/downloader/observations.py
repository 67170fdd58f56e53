"""What the downloader tests look at: events in the stream and objects in storage.

Events are read back from the stream itself (message by message), so a test sees exactly
what the broker kept, after its de-duplication, not what a publisher attempted.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
from minio import Minio
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from reelhouse.common.composition_events import COMPOSITION_EVENTS
from reelhouse.common.events import EVENTS_BY_SUBJECT, Event
from reelhouse.common.settings import NatsSettings, StorageSettings
from reelhouse.common.streams import ensure_stream

CONSUMER = "downloader"
WAIT_SECONDS = 30.0
POLL_SECONDS = 0.1
# the job events and the compositions' (the assembler's tests read these back too)
PARSERS: dict[str, type[Event]] = {
    **EVENTS_BY_SUBJECT,
    **{event.subject: event for event in COMPOSITION_EVENTS},
}


class JetStreamEvents:
    """Publish job events the way services do, and read back what the stream holds."""

    def __init__(self, client: Client, stream: str) -> None:
        self.client = client
        self.stream = stream
        self.js: JetStreamContext = client.jetstream()

    @classmethod
    async def connect(cls, settings: NatsSettings) -> JetStreamEvents:
        client = await nats.connect(settings.url, connect_timeout=5, max_reconnect_attempts=0)
        events = cls(client, settings.stream)
        await ensure_stream(events.js, settings)
        return events

    async def close(self) -> None:
        await self.client.close()

    async def publish(self, event: Event) -> None:
        headers = {**event.ce_headers("test"), "content-type": "application/json"}
        await self.js.publish(
            event.subject, event.model_dump_json().encode(), headers=headers, stream=self.stream
        )

    async def publish_raw(self, subject: str, body: bytes) -> None:
        await self.js.publish(subject, body, stream=self.stream)

    async def events(self, subject: str, job_id: str | None = None) -> list[Event]:
        info = await self.js.stream_info(self.stream)
        found: list[Event] = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                msg = await self.js.get_msg(self.stream, seq)
            except NotFoundError:
                continue
            if msg.subject != subject or msg.data is None:
                continue
            event = PARSERS[subject].model_validate_json(msg.data)
            if job_id is None or event.job_id == job_id:
                found.append(event)
        return found

    async def wait_for(self, subjects: tuple[str, ...], job_id: str) -> Event:
        """The first event on one of ``subjects`` for ``job_id`` (bounded wait)."""
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                for subject in subjects:
                    if found := await self.events(subject, job_id):
                        return found[0]
                await asyncio.sleep(POLL_SECONDS)

    async def wait_settled(self, consumer: str = CONSUMER) -> None:
        """Until the consumer has nothing pending and nothing unacknowledged (bounded wait)."""
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                try:
                    info = await self.js.consumer_info(self.stream, consumer)
                except NotFoundError:
                    info = None
                if info is not None and info.num_pending == 0 and info.num_ack_pending == 0:
                    return
                await asyncio.sleep(POLL_SECONDS)


def stored_keys(storage: StorageSettings, prefix: str) -> list[str]:
    """Every object key under ``prefix``, straight from the bucket or the directory."""
    if storage.backend == "s3":
        s3 = storage.s3
        client = Minio(
            s3.endpoint,
            access_key=s3.access_key.get_secret_value(),
            secret_key=s3.secret_key.get_secret_value(),
            secure=s3.secure,
            region=s3.region,
        )
        return sorted(
            str(o.object_name) for o in client.list_objects(s3.bucket, prefix, recursive=True)
        )
    data = storage.local_root / "data"
    return sorted(
        str(p.relative_to(data)) for p in data.rglob("*") if p.is_file() and _under(p, data, prefix)
    )


def _under(path: Path, root: Path, prefix: str) -> bool:
    return str(path.relative_to(root)).startswith(prefix)
