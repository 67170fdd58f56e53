"""Cancelling a job: flag it and queue ``gen.cancel.v1``, in one transaction, once.

The job keeps its status: it turns ``canceled`` when the dispatcher confirms
(``gen.canceled.v1``), or ``succeeded``/``failed`` if the provider finished first —
the forward-only state machine keeps whichever comes first, never both.
"""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.common.events import CancelRequested, utcnow
from reelhouse.common.jobstate import JobStatus, is_final
from reelhouse.gateway.auth.dependencies import Principal
from reelhouse.gateway.jobs import repository
from reelhouse.gateway.jobs.service import JobWithOutputs, event_row, is_job_id
from reelhouse.gateway.outbox import repository as outbox
from reelhouse.gateway.problems import ProblemError

log = structlog.get_logger(__name__)


def cancel_event_id(job_id: str) -> str:
    """One cancel per job: a repeated request (or relay) is the same message."""
    return f"{job_id}:cancel"


async def request_cancel(*, session: AsyncSession, owner: Principal, job_id: str) -> JobWithOutputs:
    """Flag the job and queue the cancel; idempotent; a finished job is a ``job_final`` 409."""
    job = (
        await repository.get_owned_job_for_update(session, owner_id=owner.owner_id, job_id=job_id)
        if is_job_id(job_id)
        else None
    )
    if job is None:
        raise ProblemError("not_found", "No such generation.")
    status = JobStatus(job.status)
    if status is JobStatus.CANCELED or (
        job.cancel_requested_at is not None and not is_final(status)
    ):
        # asked before (or already canceled): the same answer, nothing sent again
        log.info("job.cancel_repeated", status=status.value)
    elif is_final(status):
        raise ProblemError(
            "job_final", f"The generation already {status.value}; it can no longer be canceled."
        )
    else:
        now = utcnow()
        event = CancelRequested(
            event_id=cancel_event_id(job.id), job_id=job.id, occurred_at=now, owner_id=job.owner_id
        )
        job.cancel_requested_at = now
        job.updated_at = now
        repository.add_event(session, event_row(event, status=None, applied=False))
        outbox.add(session, event, now=now)
        await session.commit()
        log.info("job.cancel_requested", status=status.value)
    outputs = await repository.outputs_of(session, [job.id])
    return JobWithOutputs(job=job, outputs=outputs[job.id])
