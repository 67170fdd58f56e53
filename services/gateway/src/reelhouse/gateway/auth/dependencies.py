"""Who is calling: an API key as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from reelhouse.gateway.auth.keys import hash_api_key
from reelhouse.gateway.auth.repository import get_active_by_hash
from reelhouse.gateway.dependencies import SessionDep
from reelhouse.gateway.problems import ProblemError

bearer_scheme = HTTPBearer(
    auto_error=False, bearerFormat="rh_…", description="An API key as a bearer token."
)
api_key_scheme = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key in the X-API-Key header."
)

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="reelhouse"'}


@dataclass(frozen=True, slots=True)
class Principal:
    """The owner every query of this request is scoped to."""

    owner_id: str
    key_id: str


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
    key = await get_active_by_hash(session, hash_api_key(presented))
    if key is None:
        raise ProblemError("unauthorized", "The API key is not valid.", headers=CHALLENGE)
    return Principal(owner_id=key.owner_id, key_id=key.id)


CurrentOwner = Annotated[Principal, Depends(authenticate)]
