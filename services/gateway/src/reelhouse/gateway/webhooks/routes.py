"""``/v1/webhooks/secret`` (read, rotate) and a job's or composition's deliveries (list,
redeliver)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, cast

import structlog
from fastapi import APIRouter, Depends, status
from sqlalchemy.exc import IntegrityError

from reelhouse.common.events import utcnow
from reelhouse.common.logging import job_context
from reelhouse.gateway.auth.dependencies import GenerateScope, ReadScope
from reelhouse.gateway.compositions.service import owned_composition
from reelhouse.gateway.db.models import WebhookDelivery
from reelhouse.gateway.dependencies import ServicesDep, SessionDep, SettingsDep
from reelhouse.gateway.jobs.service import owned_job
from reelhouse.gateway.problems import ProblemError, problem_responses
from reelhouse.gateway.settings import Settings
from reelhouse.gateway.webhooks import repository
from reelhouse.gateway.webhooks.schemas import (
    DeliveryAttemptOut,
    DeliveryList,
    DeliveryOut,
    WebhookSecretOut,
)
from reelhouse.gateway.webhooks.secret_store import SecretBox, current_secret, rotate_secret
from reelhouse.gateway.webhooks.worker import DeliveryWorker

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/v1", tags=["webhooks"])


def get_secret_box(services: ServicesDep) -> SecretBox:
    return services.webhook_box


def get_worker(services: ServicesDep) -> DeliveryWorker:
    return services.webhook_worker


DELIVERY_PROBLEMS = problem_responses(
    "unauthorized", "insufficient_scope", "not_found", "validation_error"
)

SecretBoxDep = Annotated[SecretBox, Depends(get_secret_box)]
WorkerDep = Annotated[DeliveryWorker, Depends(get_worker)]


@router.get(
    "/webhooks/secret",
    response_model=WebhookSecretOut,
    summary="Your webhook signing secret",
    description=(
        "The secret that signs every webhook sent to your generations' and compositions' "
        "`webhook_url` (Standard Webhooks: `webhook-signature: v1,<base64 HMAC-SHA256 of "
        "id.timestamp.body>`). Created on first use."
    ),
    responses=problem_responses("unauthorized", "insufficient_scope"),
)
async def get_webhook_secret(
    session: SessionDep, owner: GenerateScope, box: SecretBoxDep
) -> WebhookSecretOut:
    secret = await current_secret(session, box, owner_id=owner.owner_id, now=utcnow())
    return WebhookSecretOut(secret=secret)


@router.post(
    "/webhooks/secret/rotate",
    response_model=WebhookSecretOut,
    summary="Make a new webhook signing secret",
    description=(
        "Returns the new secret. For the deployment's overlap (`REELHOUSE_WEBHOOKS__"
        "ROTATION_OVERLAP_SECONDS`, a day by default) deliveries carry two signatures, one "
        "per secret, so receivers can switch over without missing a message."
    ),
    responses=problem_responses("unauthorized", "insufficient_scope"),
)
async def rotate_webhook_secret(
    session: SessionDep, owner: GenerateScope, box: SecretBoxDep, settings: SettingsDep
) -> WebhookSecretOut:
    overlap = timedelta(seconds=settings.webhooks.rotation_overlap_seconds)
    try:
        secret = await rotate_secret(
            session, box, owner_id=owner.owner_id, now=utcnow(), overlap=overlap
        )
    except IntegrityError:  # a concurrent rotation took the version number: once more
        await session.rollback()
        secret = await rotate_secret(
            session, box, owner_id=owner.owner_id, now=utcnow(), overlap=overlap
        )
    log.info("webhook.secret_rotated", owner_id=owner.owner_id)
    return WebhookSecretOut(secret=secret)


async def _views(session: SessionDep, deliveries: list[WebhookDelivery]) -> list[DeliveryOut]:
    attempts = await repository.attempts_of(session, [d.id for d in deliveries])
    return [
        DeliveryOut(
            id=d.id,
            type=d.type,
            status=cast(repository.DeliveryStatus, d.status),
            url=d.url,
            event_id=d.event_id,
            created_at=d.created_at,
            next_attempt_at=d.next_attempt_at if d.status == repository.PENDING else None,
            delivered_at=d.delivered_at,
            give_up_at=d.give_up_at,
            attempts=[
                DeliveryAttemptOut(
                    attempted_at=a.attempted_at,
                    succeeded=a.succeeded,
                    status_code=a.status_code,
                    error=a.error,
                )
                for a in attempts[d.id]
            ],
        )
        for d in deliveries
    ]


@router.get(
    "/generations/{job_id}/deliveries",
    response_model=DeliveryList,
    summary="A generation's webhook deliveries and their attempts",
    responses=DELIVERY_PROBLEMS,
)
async def list_deliveries(job_id: str, session: SessionDep, owner: ReadScope) -> DeliveryList:
    with job_context(job_id):
        job = await owned_job(session, owner, job_id)
        deliveries = await repository.list_for_job(session, job.id)
        return DeliveryList(data=await _views(session, deliveries))


@router.post(
    "/generations/{job_id}/deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
    summary="Send a webhook delivery again",
    description=(
        "Queues the delivery (same `webhook-id`, same body, fresh timestamp and signatures) "
        "for sending now, with a fresh retry window."
    ),
    responses=DELIVERY_PROBLEMS,
)
async def redeliver(
    job_id: str,
    delivery_id: str,
    session: SessionDep,
    owner: GenerateScope,
    settings: SettingsDep,
    worker: WorkerDep,
) -> DeliveryOut:
    with job_context(job_id, delivery_id=delivery_id):
        job = await owned_job(session, owner, job_id)
        delivery = await repository.get_for_update(session, delivery_id[:40])
        if delivery is None or delivery.job_id != job.id:
            raise _no_delivery()
        return await _send_again(session, delivery, settings=settings, worker=worker)


def _no_delivery() -> ProblemError:
    return ProblemError("not_found", "No such delivery.")


async def _send_again(
    session: SessionDep, delivery: WebhookDelivery, *, settings: Settings, worker: DeliveryWorker
) -> DeliveryOut:
    now = utcnow()
    delivery.status = repository.PENDING
    delivery.next_attempt_at = now
    delivery.give_up_at = now + timedelta(seconds=settings.webhooks.max_age_seconds)
    await session.commit()
    worker.wake()
    log.info("webhook.redeliver", type=delivery.type)
    return (await _views(session, [delivery]))[0]


@router.get(
    "/compositions/{composition_id}/deliveries",
    response_model=DeliveryList,
    summary="A composition's webhook deliveries and their attempts",
    responses=DELIVERY_PROBLEMS,
)
async def list_composition_deliveries(
    composition_id: str, session: SessionDep, owner: ReadScope
) -> DeliveryList:
    with job_context(composition_id):
        composition = await owned_composition(session, owner, composition_id)
        deliveries = await repository.list_for_composition(session, composition.id)
        return DeliveryList(data=await _views(session, deliveries))


@router.post(
    "/compositions/{composition_id}/deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
    summary="Send a composition's webhook delivery again",
    description=(
        "As for a generation's: the same `webhook-id` and body, fresh timestamp and "
        "signatures, sent now with a fresh retry window."
    ),
    responses=DELIVERY_PROBLEMS,
)
async def redeliver_composition(
    composition_id: str,
    delivery_id: str,
    session: SessionDep,
    owner: GenerateScope,
    settings: SettingsDep,
    worker: WorkerDep,
) -> DeliveryOut:
    with job_context(composition_id, delivery_id=delivery_id):
        composition = await owned_composition(session, owner, composition_id)
        delivery = await repository.get_for_update(session, delivery_id[:40])
        if delivery is None or delivery.composition_id != composition.id:
            raise _no_delivery()
        return await _send_again(session, delivery, settings=settings, worker=worker)
