"""Uploads: receive, check, store, record; read, list and delete them for their owner.

An upload is kept only when everything passed: the bytes arrive within the limit, their magic
bytes name an accepted type, they decode (``decode.py``), the object is stored and its row is
committed. A failed insert deletes the stored object again (no orphan).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.common.events import utcnow
from reelhouse.common.storage import ObjectStore, StorageUnavailableError
from reelhouse.gateway.auth.dependencies import Principal
from reelhouse.gateway.db import models
from reelhouse.gateway.jobs.cursor import Cursor, InvalidCursorError, decode_cursor, encode_cursor
from reelhouse.gateway.problems import FieldError, ProblemError
from reelhouse.gateway.uploads import repository
from reelhouse.gateway.uploads.decode import check_upload
from reelhouse.gateway.uploads.receive import discard, receive_file
from reelhouse.gateway.uploads.settings import UploadSettings
from reelhouse.gateway.uploads.sniff import SNIFF_BYTES, sniff

log = structlog.get_logger(__name__)

UPLOAD_ID_PREFIX = "upl_"
REFERENCE_SCHEME = "upload"
_UPLOAD_ID = re.compile(r"upl_[0-9a-f]{32}")
HASH_CHUNK = 1024 * 1024


def new_upload_id() -> str:
    return UPLOAD_ID_PREFIX + uuid.uuid4().hex


def is_upload_id(value: str) -> bool:
    return _UPLOAD_ID.fullmatch(value) is not None


def reference_of(upload_id: str) -> str:
    return f"{REFERENCE_SCHEME}://{upload_id}"


def object_key(owner_id: str, upload_id: str, extension: str) -> str:
    return f"uploads/{owner_id}/{upload_id}.{extension}"


def expires_at(upload: models.Upload, retention_days: float) -> datetime:
    return upload.last_used + timedelta(days=retention_days)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(SNIFF_BYTES)


@dataclass(frozen=True, slots=True)
class UploadRequest:
    chunks: AsyncIterator[bytes]
    content_type: str | None


async def create_upload(
    *,
    session: AsyncSession,
    store: ObjectStore,
    owner: Principal,
    request: UploadRequest,
    settings: UploadSettings,
) -> models.Upload:
    """Receive, check and keep one upload; a problem (413/415/422/503) keeps nothing."""
    # authentication's transaction ends here: no database connection is held while a slow
    # client sends its file
    await session.rollback()
    received = await receive_file(
        request.chunks,
        content_type=request.content_type,
        max_bytes=settings.max_bytes,
        directory=settings.temp_dir,
    )
    clean = received.path.with_suffix(".clean")
    try:
        media = sniff(await asyncio.to_thread(_head, received.path))
        if media is None:
            raise ProblemError("unsupported_media")
        checked = await check_upload(
            received.path, media, max_pixels=settings.max_pixels, out=clean
        )
        size = (await asyncio.to_thread(checked.path.stat)).st_size
        digest = await asyncio.to_thread(_sha256, checked.path)
        upload_id = new_upload_id()
        key = object_key(owner.owner_id, upload_id, checked.media.extension)
        try:
            await store.put_file(key, checked.path, content_type=checked.media.content_type)
        except StorageUnavailableError as exc:
            log.warning("upload.storage_unavailable", error=repr(exc))
            raise ProblemError("storage_unavailable", headers={"Retry-After": "5"}) from exc
        now = utcnow()
        upload = models.Upload(
            id=upload_id,
            owner_id=owner.owner_id,
            object_key=key,
            kind=checked.media.kind,
            content_type=checked.media.content_type,
            size=size,
            width=checked.width,
            height=checked.height,
            duration=checked.duration,
            sha256=digest,
            filename=received.filename,
            created_at=now,
            last_used_at=None,
            last_used=now,
        )
        try:
            repository.add(session, upload)
            await session.commit()
        except BaseException:
            await _delete_quietly(store, key)
            raise
    finally:
        await discard(received.path, clean)
    log.info(
        "upload.stored",
        upload_id=upload.id,
        owner_id=owner.owner_id,
        kind=upload.kind,
        content_type=upload.content_type,
        bytes=size,
        received_bytes=received.size,
    )
    return upload


async def _delete_quietly(store: ObjectStore, key: str) -> None:
    try:
        await store.delete(key)
    except Exception as exc:  # the original failure matters more; this one is logged
        log.error("upload.orphan_object", key=key, error=repr(exc))


async def get_upload(*, session: AsyncSession, owner: Principal, upload_id: str) -> models.Upload:
    upload = (
        await repository.get_upload(session, owner_id=owner.owner_id, upload_id=upload_id)
        if is_upload_id(upload_id)
        else None
    )
    if upload is None:
        raise ProblemError("not_found", "No such upload.")
    return upload


async def delete_upload(
    *, session: AsyncSession, store: ObjectStore, owner: Principal, upload_id: str
) -> None:
    """Delete the object, then the row (a failed object delete leaves both: retry it)."""
    upload = await get_upload(session=session, owner=owner, upload_id=upload_id)
    try:
        await store.delete(upload.object_key)
    except StorageUnavailableError as exc:
        raise ProblemError("storage_unavailable", headers={"Retry-After": "5"}) from exc
    await repository.delete_owned(session, owner_id=owner.owner_id, upload_id=upload.id)
    await session.commit()
    log.info("upload.deleted", upload_id=upload.id, owner_id=owner.owner_id)


async def list_uploads(
    *, session: AsyncSession, owner: Principal, limit: int, cursor: str | None
) -> tuple[list[models.Upload], str | None]:
    try:
        after = decode_cursor(cursor) if cursor else None
    except InvalidCursorError as exc:
        raise ProblemError(
            "invalid_cursor", errors=[FieldError(path="query.cursor", message="invalid cursor")]
        ) from exc
    rows = await repository.list_uploads(
        session, owner_id=owner.owner_id, limit=limit + 1, after=after
    )
    page, more = rows[:limit], len(rows) > limit
    next_cursor = (
        encode_cursor(Cursor(created_at=page[-1].created_at, job_id=page[-1].id)) if more else None
    )
    return page, next_cursor
