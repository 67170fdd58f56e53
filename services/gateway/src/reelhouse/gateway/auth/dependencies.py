"""Who is calling: an API key as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``.

``CurrentOwner`` authenticates; ``require_scope(scope)`` (and the aliases ``GenerateScope``,
``ReadScope``, ``AdminScope``) also demands a scope, answering 403 ``insufficient_scope``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

from fastapi import Depends
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.common.events import utcnow
from reelhouse.gateway.auth import repository
from reelhouse.gateway.auth.keys import hash_api_key
from reelhouse.gateway.auth.principal import Principal
from reelhouse.gateway.auth.repository import ActiveKey
from reelhouse.gateway.auth.scopes import Scope, ordered
from reelhouse.gateway.dependencies import SessionDep
from reelhouse.gateway.problems import ProblemError

__all__ = [
    "AdminScope",
    "CurrentOwner",
    "GenerateScope",
    "Principal",
    "ReadScope",
    "authenticate",
    "require_scope",
]

bearer_scheme = HTTPBearer(
    auto_error=False, bearerFormat="rh_…", description="An API key as a bearer token."
)
api_key_scheme = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key in the X-API-Key header."
)

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="reelhouse"'}
# last_used_at is written at most this often per key, not on every request
LAST_USED_RESOLUTION = timedelta(minutes=1)


async def _note_use(session: AsyncSession, key: ActiveKey) -> None:
    now = utcnow()
    stale_before = now - LAST_USED_RESOLUTION
    if key.last_used_at is not None and key.last_used_at >= stale_before:
        return
    await repository.touch_last_used(session, key.id, now=now, stale_before=stale_before)
    # its own short transaction: a read-only request never commits the session
    await session.commit()


async def authenticate(
    session: SessionDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    header_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Principal:
    presented = header_key or (bearer.credentials if bearer is not None else None)
    if not presented:
        raise ProblemError(
            "unauthorized",
            "Send an API key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'.",
            headers=CHALLENGE,
        )
    key = await repository.get_active_by_hash(session, hash_api_key(presented))
    if key is None:
        raise ProblemError("unauthorized", "The API key is not valid.", headers=CHALLENGE)
    if key.expires_at is not None and key.expires_at <= utcnow():
        raise ProblemError("unauthorized", "The API key has expired.", headers=CHALLENGE)
    await _note_use(session, key)
    return Principal(owner_id=key.owner_id, key_id=key.id, scopes=frozenset(ordered(key.scopes)))


CurrentOwner = Annotated[Principal, Depends(authenticate)]


def require_scope(scope: Scope) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency: the authenticated principal, provided its key has ``scope`` (else 403)."""

    async def scoped(principal: CurrentOwner) -> Principal:
        if not principal.may(scope):
            raise ProblemError(
                "insufficient_scope",
                f"This operation needs an API key with the {scope!r} scope.",
                headers={
                    "WWW-Authenticate": (
                        f'Bearer realm="reelhouse", error="insufficient_scope", scope="{scope}"'
                    )
                },
            )
        return principal

    scoped.__name__ = f"require_{scope}_scope"
    return scoped


GenerateScope = Annotated[Principal, Depends(require_scope("generate"))]
ReadScope = Annotated[Principal, Depends(require_scope("read"))]
AdminScope = Annotated[Principal, Depends(require_scope("admin"))]
