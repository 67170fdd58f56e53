"""Idempotent submits (the IETF httpapi ``Idempotency-Key`` draft), race-safe across processes.

1. Claim: insert ``(owner, key, fingerprint)`` and commit it first. The unique constraint on
   ``(owner_id, key)`` lets one request of any number of gateway processes win.
2. The winner writes the job, and marks the claim completed in the *same* transaction
   (``before_commit``), so a job never exists without its claim pointing at it.
3. A loser reads the claim: another body → 422 ``idempotency_key_reused``; completed → the
   same job again (``Idempotent-Replayed: true``); still in flight → 409
   ``idempotency_key_in_flight``, unless the claim's lease ran out (its request crashed):
   then it takes the claim over by compare-and-set.

A request that fails (a 4xx such as ``unknown_model``, or an error) releases its claim: the
key is not poisoned, and the corrected request may use it. Claims live ``ttl_seconds``; each
claim deletes at most ``cleanup_batch`` expired ones.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, Protocol, TypeVar

import structlog
from fastapi import status
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.common.events import utcnow
from reelhouse.common.logging import job_context
from reelhouse.gateway.auth.principal import Principal
from reelhouse.gateway.db.models import IdempotencyKey
from reelhouse.gateway.idempotency import repository
from reelhouse.gateway.idempotency.header import (
    InvalidIdempotencyKeyError,
    fingerprint,
    parse_idempotency_key,
)
from reelhouse.gateway.problems import ProblemError
from reelhouse.gateway.settings import IdempotencySettings

log = structlog.get_logger(__name__)

ACCEPTED = status.HTTP_202_ACCEPTED
# how soon a client may retry a key that is in flight
IN_FLIGHT_RETRY_AFTER = "1"
# a claim attempt repeats only after deleting an expired record, or losing it to a delete
CLAIM_ATTEMPTS = 3


class Made(Protocol):
    """What a submit makes: a job, or a composition (``id`` is what the claim records)."""

    @property
    def id(self) -> str: ...


MadeT = TypeVar("MadeT", bound=Made)
BeforeCommit = Callable[[Made], Awaitable[None]]
Submit = Callable[[BeforeCommit | None], Awaitable[MadeT]]


@dataclass(frozen=True, slots=True)
class Claim:
    row_id: int
    token: str


@dataclass(frozen=True, slots=True)
class Submitted(Generic[MadeT]):
    """The job (or composition) a submit answers with, its status code, and whether it is a
    replay (then only its id is known: ``job`` is None)."""

    job_id: str
    job: MadeT | None
    status_code: int
    replayed: bool


def _in_flight() -> ProblemError:
    return ProblemError(
        "idempotency_key_in_flight",
        "A request with this Idempotency-Key is still being processed; retry shortly.",
        headers={"Retry-After": IN_FLIGHT_RETRY_AFTER},
    )


async def _claim(
    session: AsyncSession,
    *,
    owner_id: str,
    key: str,
    request_hash: str,
    settings: IdempotencySettings,
) -> Claim | Submitted[Any]:
    for _ in range(CLAIM_ATTEMPTS):
        now = utcnow()
        token = uuid.uuid4().hex
        locked_until = now + timedelta(seconds=settings.lease_seconds)
        removed = await repository.delete_expired(session, now=now, limit=settings.cleanup_batch)
        if removed:
            await session.commit()
            log.info("idempotency.expired_removed", count=removed)
        row = IdempotencyKey(
            owner_id=owner_id,
            key=key,
            request_hash=request_hash,
            token=token,
            job_id=None,
            response_status=None,
            locked_until=locked_until,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.ttl_seconds),
        )
        try:
            row_id = await repository.insert(session, row)
            await session.commit()
            return Claim(row_id=row_id, token=token)
        except IntegrityError:
            await session.rollback()
        existing = await repository.get(session, owner_id=owner_id, key=key)
        if existing is None:
            continue  # deleted between our insert and this read: claim again
        if existing.expires_at <= now:
            await repository.delete_if_expired(session, existing.id, now=now)
            await session.commit()
            continue
        if existing.request_hash != request_hash:
            raise ProblemError(
                "idempotency_key_reused",
                "This Idempotency-Key was already used with a different request body; "
                "use a new key for a new request.",
            )
        if existing.job_id is not None:
            return Submitted(
                job_id=existing.job_id,
                job=None,
                status_code=existing.response_status or ACCEPTED,
                replayed=True,
            )
        if existing.locked_until > now:
            raise _in_flight()
        taken = await repository.take_over(
            session,
            existing.id,
            old_token=existing.token,
            new_token=token,
            locked_until=locked_until,
        )
        await session.commit()
        if not taken:
            raise _in_flight()
        log.warning(
            "idempotency.lease_taken_over", owner_id=owner_id, claimed_at=existing.created_at
        )
        return Claim(row_id=existing.id, token=token)
    raise _in_flight()


async def _release(session: AsyncSession, claim: Claim) -> None:
    try:
        await session.rollback()
        await repository.release(session, claim.row_id, token=claim.token)
        await session.commit()
    except Exception as exc:  # the lease frees the key anyway; the request's own error wins
        log.warning("idempotency.release_failed", error=repr(exc))


async def submit_once(
    *,
    session: AsyncSession,
    owner: Principal,
    header: str | None,
    body: bytes,
    settings: IdempotencySettings,
    submit: Submit[MadeT],
) -> Submitted[MadeT]:
    """Run ``submit`` at most once per ``(owner, Idempotency-Key)``; without a key, just run it."""
    if header is None:
        job = await submit(None)
        return Submitted(job_id=job.id, job=job, status_code=ACCEPTED, replayed=False)
    try:
        key = parse_idempotency_key(header)
    except InvalidIdempotencyKeyError as exc:
        raise ProblemError(
            "idempotency_key_invalid",
            "The Idempotency-Key header must be 1 to 255 printable ASCII characters.",
        ) from exc
    outcome = await _claim(
        session, owner_id=owner.owner_id, key=key, request_hash=fingerprint(body), settings=settings
    )
    if isinstance(outcome, Submitted):
        with job_context(outcome.job_id):
            log.info("idempotency.replayed", owner_id=owner.owner_id)
        return outcome
    claim = outcome

    async def complete(job: Made) -> None:
        done = await repository.complete(
            session,
            claim.row_id,
            token=claim.token,
            job_id=job.id,
            status_code=ACCEPTED,
            now=utcnow(),
        )
        if not done:  # our lease ran out and another request took the key over
            raise _in_flight()

    try:
        job = await submit(complete)
    except Exception:  # a cancelled request leaves the claim to its lease
        await _release(session, claim)
        raise
    return Submitted(job_id=job.id, job=job, status_code=ACCEPTED, replayed=False)
