"""JetStream stream set-up shared by every service: the events, and the dead letters beside them."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from reelhouse.common.events import STREAM_SUBJECTS
from reelhouse.common.settings import NatsSettings

# events are kept a week so a consumer that was down catches up
MAX_AGE_SECONDS = 7 * 24 * 3600
# poison messages wait a month for an operator to read, fix and replay them
DEADLETTER_MAX_AGE_SECONDS = 30 * 24 * 3600
# every dead-letter record's subject starts with this, then the original subject
DEADLETTER_PREFIX = "deadletter."
DEADLETTER_SUBJECTS = [f"{DEADLETTER_PREFIX}>"]


def _file_stream(
    settings: NatsSettings, *, name: str, subjects: list[str], max_age: float
) -> StreamConfig:
    """A file-stored, age-limited stream; the duplicate window (``Nats-Msg-Id``) and replicas
    from the settings."""
    return StreamConfig(
        name=name,
        subjects=subjects,
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=max_age,
        duplicate_window=settings.duplicate_window_seconds,
        num_replicas=settings.stream_replicas,
    )


def stream_config(settings: NatsSettings) -> StreamConfig:
    return _file_stream(
        settings, name=settings.stream, subjects=list(STREAM_SUBJECTS), max_age=MAX_AGE_SECONDS
    )


def deadletter_stream_config(settings: NatsSettings) -> StreamConfig:
    """The dead-letter stream: apart from the events, so no consumer of theirs ever sees one
    (a poison message redelivered before its term landed is recorded once: ``Nats-Msg-Id``)."""
    return _file_stream(
        settings,
        name=settings.deadletter_stream,
        subjects=list(DEADLETTER_SUBJECTS),
        max_age=DEADLETTER_MAX_AGE_SECONDS,
    )


async def ensure_stream(js: JetStreamContext, settings: NatsSettings) -> None:
    """Create the event and dead-letter streams, or bring existing ones to this configuration."""
    await _ensure(js, settings.stream, stream_config(settings))
    await _ensure(js, settings.deadletter_stream, deadletter_stream_config(settings))


async def _ensure(js: JetStreamContext, name: str, config: StreamConfig) -> None:
    try:
        await js.stream_info(name)
    except NotFoundError:
        await js.add_stream(config)
        return
    await js.update_stream(config)
