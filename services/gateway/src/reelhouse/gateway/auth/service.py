"""Creating, listing and revoking API keys, and the bootstrap key ensured at start."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.common.events import utcnow
from reelhouse.gateway.auth import repository
from reelhouse.gateway.auth.keys import display_prefix, generate_api_key, hash_api_key
from reelhouse.gateway.auth.scopes import ALL_SCOPES, DEFAULT_SCOPES, ordered
from reelhouse.gateway.db.models import ApiKey
from reelhouse.gateway.jobs.cursor import Cursor, decode_cursor, encode_cursor

log = structlog.get_logger(__name__)

BOOTSTRAP_OWNER = "dev"


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key's row, and the key itself: the only time it is ever visible."""

    row: ApiKey
    key: str


def _row(
    key: str,
    *,
    owner_id: str,
    name: str,
    scopes: Iterable[str],
    expires_at: datetime | None,
) -> ApiKey:
    return ApiKey(
        id=uuid.uuid4().hex,
        owner_id=owner_id,
        name=name,
        key_hash=hash_api_key(key),
        prefix=display_prefix(key),
        created_at=utcnow(),
        revoked_at=None,
        scopes=list(ordered(scopes)),
        expires_at=expires_at,
        last_used_at=None,
    )


async def issue_key(
    session: AsyncSession,
    *,
    owner_id: str,
    name: str,
    scopes: Iterable[str] = DEFAULT_SCOPES,
    expires_at: datetime | None = None,
) -> IssuedKey:
    """Add a new key for ``owner_id`` (flushed, not committed)."""
    key = generate_api_key()
    row = _row(key, owner_id=owner_id, name=name, scopes=scopes, expires_at=expires_at)
    repository.add(session, row)
    await session.flush()
    log.info("auth.key_created", owner_id=owner_id, name=name, prefix=row.prefix, scopes=row.scopes)
    return IssuedKey(row=row, key=key)


async def create_api_key(
    session: AsyncSession,
    *,
    owner_id: str,
    name: str,
    scopes: Iterable[str] = DEFAULT_SCOPES,
) -> str:
    """Add a new key for ``owner_id`` and return it (the only time it is ever visible)."""
    return (await issue_key(session, owner_id=owner_id, name=name, scopes=scopes)).key


async def list_api_keys(
    session: AsyncSession, *, owner_id: str | None, limit: int, cursor: str | None
) -> tuple[list[ApiKey], str | None]:
    """One page of keys, newest first, and the next page's cursor (None on the last).

    Raises ``InvalidCursorError`` for a cursor this function did not make."""
    after = decode_cursor(cursor) if cursor else None
    rows = await repository.list_keys(session, owner_id=owner_id, limit=limit + 1, after=after)
    page, more = rows[:limit], len(rows) > limit
    next_cursor = (
        encode_cursor(Cursor(created_at=page[-1].created_at, job_id=page[-1].id)) if more else None
    )
    return page, next_cursor


async def revoke_api_key(session: AsyncSession, key_id: str) -> ApiKey | None:
    """Revoke the key (flushed, not committed); None when there is no such key. Idempotent."""
    row = await repository.get_by_id(session, key_id)
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await session.flush()
        log.info("auth.key_revoked", owner_id=row.owner_id, key_id=row.id, prefix=row.prefix)
    return row


async def ensure_api_key(
    sessions: async_sessionmaker[AsyncSession], *, key: str, owner_id: str, name: str
) -> bool:
    """Make sure ``key`` exists for ``owner_id`` with every scope; True when created now.

    Idempotent; a bootstrap key from before scopes existed is given every scope."""
    key_hash = hash_api_key(key)
    try:
        async with sessions.begin() as session:
            existing = await repository.get_by_hash(session, key_hash)
            if existing is not None:
                if existing.owner_id != owner_id:
                    log.warning("auth.bootstrap_key_owned_elsewhere", owner_id=existing.owner_id)
                if set(existing.scopes) != set(ALL_SCOPES):
                    existing.scopes = list(ALL_SCOPES)
                return False
            repository.add(
                session,
                _row(key, owner_id=owner_id, name=name, scopes=ALL_SCOPES, expires_at=None),
            )
    except IntegrityError:
        # another replica created it at the same moment
        return False
    log.info("auth.key_created", owner_id=owner_id, name=name, prefix=display_prefix(key))
    return True
