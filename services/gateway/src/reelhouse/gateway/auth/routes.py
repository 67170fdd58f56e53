"""``/v1/keys``: create (the key shown once), list, revoke — admin scope, any owner."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Query, Response, status

from reelhouse.common.events import utcnow
from reelhouse.gateway.auth import service
from reelhouse.gateway.auth.dependencies import AdminScope
from reelhouse.gateway.auth.schemas import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    OWNER_PATTERN,
    KeyCreate,
    KeyCreated,
    KeyOut,
    KeyPage,
)
from reelhouse.gateway.dependencies import SessionDep
from reelhouse.gateway.jobs.cursor import InvalidCursorError
from reelhouse.gateway.problems import FieldError, ProblemError, problem_responses

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/v1/keys", tags=["keys"])

_KEY_ID_MAX = 32


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=KeyCreated,
    summary="Create an API key",
    description=(
        "Creates a key for any owner (admin scope). The answer carries the key itself "
        "(`key`) this once: only a hash is stored."
    ),
    responses=problem_responses("unauthorized", "insufficient_scope", "validation_error"),
)
async def create_key(body: KeyCreate, session: SessionDep, admin: AdminScope) -> KeyCreated:
    if body.expires_at is not None and body.expires_at <= utcnow():
        raise ProblemError(
            "validation_error",
            "expires_at must lie in the future.",
            errors=[FieldError(path="expires_at", message="must lie in the future")],
        )
    issued = await service.issue_key(
        session,
        owner_id=body.owner,
        name=body.name,
        scopes=body.scopes,
        expires_at=body.expires_at,
    )
    await session.commit()
    log.info("keys.created_by_admin", admin_key_id=admin.key_id, key_id=issued.row.id)
    return KeyCreated(**KeyOut.of(issued.row).model_dump(), key=issued.key)


@router.get(
    "",
    response_model=KeyPage,
    summary="List API keys, newest first",
    description=(
        "Every owner's keys (admin scope), or one owner's with `owner`; revoked and expired "
        "keys included. Never the key itself."
    ),
    responses=problem_responses(
        "unauthorized", "insufficient_scope", "validation_error", "invalid_cursor"
    ),
)
async def list_keys(
    session: SessionDep,
    admin: AdminScope,
    owner: Annotated[str | None, Query(min_length=1, max_length=64, pattern=OWNER_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> KeyPage:
    try:
        rows, next_cursor = await service.list_api_keys(
            session, owner_id=owner, limit=limit, cursor=cursor
        )
    except InvalidCursorError as exc:
        raise ProblemError(
            "invalid_cursor", errors=[FieldError(path="query.cursor", message="invalid cursor")]
        ) from exc
    return KeyPage(data=[KeyOut.of(row) for row in rows], next_cursor=next_cursor)


@router.delete(
    "/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Revoke an API key",
    description=(
        "The key stops working at once: the next request with it is 401. Revoking a revoked "
        "key is 204 again."
    ),
    responses=problem_responses(
        "unauthorized", "insufficient_scope", "not_found", "validation_error"
    ),
)
async def revoke_key(key_id: str, session: SessionDep, admin: AdminScope) -> Response:
    row = await service.revoke_api_key(session, key_id) if len(key_id) <= _KEY_ID_MAX else None
    if row is None:
        raise ProblemError("not_found", "No such API key.")
    await session.commit()
    log.info("keys.revoked_by_admin", admin_key_id=admin.key_id, key_id=row.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
