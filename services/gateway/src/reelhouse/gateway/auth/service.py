"""Creating API keys, and the bootstrap key ensured at start."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.common.events import utcnow
from reelhouse.gateway.auth import repository
from reelhouse.gateway.auth.keys import display_prefix, generate_api_key, hash_api_key
from reelhouse.gateway.db.engine import create_engine, create_sessionmaker
from reelhouse.gateway.db.migrate import run_migrations
from reelhouse.gateway.db.models import ApiKey

log = structlog.get_logger(__name__)

BOOTSTRAP_OWNER = "dev"


def _row(key: str, *, owner_id: str, name: str) -> ApiKey:
    return ApiKey(
        id=uuid.uuid4().hex,
        owner_id=owner_id,
        name=name,
        key_hash=hash_api_key(key),
        prefix=display_prefix(key),
        created_at=utcnow(),
        revoked_at=None,
    )


async def create_api_key(session: AsyncSession, *, owner_id: str, name: str) -> str:
    """Add a new key for ``owner_id`` and return it (the only time it is ever visible)."""
    key = generate_api_key()
    repository.add(session, _row(key, owner_id=owner_id, name=name))
    await session.flush()
    return key


async def ensure_api_key(
    sessions: async_sessionmaker[AsyncSession], *, key: str, owner_id: str, name: str
) -> bool:
    """Make sure ``key`` exists for ``owner_id``; True when it was created now. Idempotent."""
    key_hash = hash_api_key(key)
    try:
        async with sessions.begin() as session:
            existing = await repository.get_by_hash(session, key_hash)
            if existing is not None:
                if existing.owner_id != owner_id:
                    log.warning("auth.bootstrap_key_owned_elsewhere", owner_id=existing.owner_id)
                return False
            repository.add(session, _row(key, owner_id=owner_id, name=name))
    except IntegrityError:
        # another replica created it at the same moment
        return False
    log.info("auth.key_created", owner_id=owner_id, name=name, prefix=display_prefix(key))
    return True


async def issue_api_key(database_url: str, *, owner_id: str, name: str) -> str:
    """For operators (``python -m reelhouse.gateway create-key``): a new key, on its own engine."""
    engine = create_engine(database_url)
    try:
        await run_migrations(engine)
        async with create_sessionmaker(engine).begin() as session:
            key = await create_api_key(session, owner_id=owner_id, name=name)
    finally:
        await engine.dispose()
    log.info("auth.key_created", owner_id=owner_id, name=name, prefix=display_prefix(key))
    return key
