"""How an event moves a job (pure): the CONTRACT's mapping on top of ``jobstate``.

requested → (already queued); submitted → submitted; progress with running → running;
output → downloading; stored → succeeded (+assets); failed → failed (+error);
canceled → canceled. Only forward moves apply; a late or duplicate event changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from reelhouse.common.events import (
    Asset,
    Event,
    GenerationCanceled,
    GenerationFailed,
    GenerationOutputReady,
    GenerationProgressed,
    GenerationStored,
    GenerationSubmitted,
    JobError,
)
from reelhouse.common.jobstate import JobStatus, next_status


@dataclass(frozen=True, slots=True)
class Projection:
    """What to write for one event; ``status`` None means the job's state stays as it is."""

    status: JobStatus | None
    error: JobError | None = None
    assets: tuple[Asset, ...] = ()
    provider_request_id: str | None = None

    @property
    def applied(self) -> bool:
        return self.status is not None


def target_status(event: Event) -> JobStatus | None:
    """The status an event asks for, before looking at the job."""
    match event:
        case GenerationSubmitted():
            return JobStatus.SUBMITTED
        case GenerationProgressed(running=True):
            return JobStatus.RUNNING
        case GenerationOutputReady():
            return JobStatus.DOWNLOADING
        case GenerationStored():
            return JobStatus.SUCCEEDED
        case GenerationFailed():
            return JobStatus.FAILED
        case GenerationCanceled():
            return JobStatus.CANCELED
        case _:
            return None


def _provider_request_id(event: Event) -> str | None:
    if isinstance(event, GenerationSubmitted | GenerationOutputReady):
        return event.provider_request_id
    return None


def project(current: JobStatus, event: Event) -> Projection:
    """The change ``event`` makes to a job that is ``current``."""
    request_id = _provider_request_id(event)
    target = target_status(event)
    status = None if target is None else next_status(current, target)
    if status is None:
        return Projection(status=None, provider_request_id=request_id)
    return Projection(
        status=status,
        error=event.error if isinstance(event, GenerationFailed) else None,
        assets=tuple(event.assets) if isinstance(event, GenerationStored) else (),
        provider_request_id=request_id,
    )
