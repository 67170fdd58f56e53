"""The assembly record: proof that an assembly's film and poster are stored.

Written after both objects, beside the film (``<key>.assembly-<n>.json``), it holds the asset
and the method. A redelivered ``composition.ready.v1`` whose record exists re-publishes the
same ``composition.assembled.v1`` (same event id, so JetStream drops the duplicate) without
fetching, encoding or storing again.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Literal

import structlog
from pydantic import BaseModel, ConfigDict, ValidationError

from reelhouse.common.composition_events import CompositionReady
from reelhouse.common.errors import TransientError
from reelhouse.common.events import Asset
from reelhouse.common.storage import ObjectNotFoundError, ObjectStore, StorageUnavailableError

log = structlog.get_logger(__name__)

CONTENT_TYPE = "application/json"
# a record is a few hundred bytes; anything larger is not one of ours
MAX_RECORD_BYTES = 64 * 1024


class AssemblyRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    assembly: int
    asset: Asset
    method: Literal["copy", "reencode"]


def record_key(event: CompositionReady) -> str:
    return f"{event.key}.assembly-{event.assembly}.json"


async def load_record(store: ObjectStore, event: CompositionReady) -> AssemblyRecord | None:
    """The record of this very assembly, or None when it was never finished."""
    key = record_key(event)
    body = bytearray()
    try:
        async for chunk in store.read_range(key, 0, MAX_RECORD_BYTES - 1):
            body += chunk
    except ObjectNotFoundError:
        return None
    except StorageUnavailableError as exc:
        raise TransientError("storage_unavailable", detail=f"assembly record: {exc}") from exc
    try:
        record = AssemblyRecord.model_validate_json(bytes(body))
    except ValidationError as exc:
        # unreadable: assemble again, and the new record replaces it
        log.warning("assembly.record_unreadable", key=key, error=str(exc))
        return None
    if record.assembly != event.assembly or record.asset.key != event.key:
        log.warning("assembly.record_mismatch", key=key, recorded_key=record.asset.key)
        return None
    return record


async def save_record(
    store: ObjectStore, event: CompositionReady, record: AssemblyRecord, workdir: Path
) -> None:
    path = workdir / "assembly-record.json"
    await asyncio.to_thread(path.write_text, record.model_dump_json())
    try:
        await store.put_file(record_key(event), path, content_type=CONTENT_TYPE)
    except StorageUnavailableError as exc:
        raise TransientError("storage_unavailable", detail=f"assembly record: {exc}") from exc
