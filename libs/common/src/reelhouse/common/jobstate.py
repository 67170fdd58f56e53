"""The job state machine: pure, forward-only, idempotent.

``queued → submitted → running → downloading → succeeded``, with ``failed`` and
``canceled`` reachable from every non-final state. A late or duplicate event
never moves a job back.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    QUEUED = "queued"
    SUBMITTED = "submitted"
    RUNNING = "running"
    DOWNLOADING = "downloading"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


FINAL_STATES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED})

_RANK = {
    JobStatus.QUEUED: 0,
    JobStatus.SUBMITTED: 1,
    JobStatus.RUNNING: 2,
    JobStatus.DOWNLOADING: 3,
    JobStatus.SUCCEEDED: 4,
    JobStatus.FAILED: 4,
    JobStatus.CANCELED: 4,
}


def is_final(status: JobStatus) -> bool:
    return status in FINAL_STATES


def can_transition(current: JobStatus, target: JobStatus) -> bool:
    """True when moving ``current → target`` is a step forward."""
    if is_final(current):
        return False
    return _RANK[target] > _RANK[current]


def next_status(current: JobStatus, target: JobStatus) -> JobStatus | None:
    """The status to record, or None when the event must not change the job."""
    return target if can_transition(current, target) else None
