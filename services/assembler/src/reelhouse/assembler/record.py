"""The assembly record: proof that an assembly's film and poster are stored.

Written once the run's announcement was the first (``assembly.py``), beside the composition's
base key (``<key>.assembly-<n>.json``), it holds the announced asset (the run's own keys) and
the method. A redelivered ``composition.ready.v1`` whose record exists re-publishes the same
``composition.assembled.v1`` (same event id, so JetStream drops the duplicate) without
fetching, encoding or storing again.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Literal

import structlog
from pydantic import BaseModel, ConfigDict, ValidationError

from reelhouse.assembler.run_keys import is_run_key
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


def record_key(event: CompositionReady, assembly: int | None = None) -> str:
    """The record of ``event``'s assembly (or of an earlier ``assembly`` of its composition)."""
    return f"{event.key}.assembly-{assembly or event.assembly}.json"


async def load_record(
    store: ObjectStore, event: CompositionReady, assembly: int | None = None
) -> AssemblyRecord | None:
    """The record of this very assembly (or of the earlier ``assembly``), or None when it was
    never finished."""
    number = assembly or event.assembly
    key = record_key(event, number)
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
    if record.assembly != number or not is_run_key(record.asset.key, event.key):
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
