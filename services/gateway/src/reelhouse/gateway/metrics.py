"""The gateway's metrics: jobs accepted and finished, time in each state, the outbox backlog.

Jobs are counted where their state is decided: accepted when the submission commits,
finished (and the time spent in each state) when the projector commits a transition,
from the transition timestamps of the job's own events — so a replica that restarts, or
several replicas sharing the projector, count each job once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from prometheus_client import Counter, Gauge, Histogram

from reelhouse.common.jobstate import JobStatus, is_final

SERVICE = "gateway"

JOBS_ACCEPTED = Counter(
    "reelhouse_jobs_accepted_total",
    "Generation jobs accepted (202), by model; status is the state they start in (queued)",
    ["model", "status", "code"],
)
JOBS_FINISHED = Counter(
    "reelhouse_jobs_finished_total",
    "Generation jobs that reached a final state, by model, status and error code",
    ["model", "status", "code"],
)
# from a second (a state skipped quickly) to a long video generation
STATE_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
JOB_STATE_SECONDS = Histogram(
    "reelhouse_job_state_seconds",
    "Time a job spent in a state, observed when it leaves it, by model and state",
    ["model", "state"],
    buckets=STATE_BUCKETS,
)
OUTBOX_PENDING = Gauge(
    "reelhouse_outbox_pending_messages",
    "Outbox rows not yet published to JetStream",
)
OUTBOX_OLDEST_AGE = Gauge(
    "reelhouse_outbox_oldest_age_seconds",
    "Age of the oldest unpublished outbox row (0 when the outbox is empty)",
)
OUTBOX_PUBLISHED = Counter(
    "reelhouse_outbox_published_total",
    "Outbox rows published to JetStream",
)
OUTBOX_PUBLISH_FAILURES = Counter(
    "reelhouse_outbox_publish_failures_total",
    "Failed attempts to publish an outbox row (retried with backoff)",
)


def observe_accepted(model: str) -> None:
    JOBS_ACCEPTED.labels(model, JobStatus.QUEUED.value, "").inc()


@dataclass(frozen=True, slots=True)
class Transition:
    """A job left ``left`` for ``to`` at ``at``, having entered ``left`` at ``entered``."""

    model: str
    left: JobStatus
    to: JobStatus
    entered: datetime
    at: datetime
    code: str = ""


def observe_transition(transition: Transition) -> None:
    seconds = max(0.0, (transition.at - transition.entered).total_seconds())
    JOB_STATE_SECONDS.labels(transition.model, transition.left.value).observe(seconds)
    if is_final(transition.to):
        JOBS_FINISHED.labels(transition.model, transition.to.value, transition.code).inc()


def observe_backlog(pending: int, oldest: datetime | None, *, now: datetime) -> None:
    OUTBOX_PENDING.set(pending)
    OUTBOX_OLDEST_AGE.set(0.0 if oldest is None else max(0.0, (now - oldest).total_seconds()))


WEBHOOK_ATTEMPTS = Counter(
    "reelhouse_webhook_deliveries_attempted_total",
    "HTTP attempts to deliver a webhook, by event type",
    ["type"],
)
WEBHOOK_SUCCEEDED = Counter(
    "reelhouse_webhook_deliveries_succeeded_total",
    "Webhook deliveries the endpoint accepted (2xx), by event type",
    ["type"],
)
WEBHOOK_FAILED = Counter(
    "reelhouse_webhook_deliveries_failed_total",
    "Failed webhook attempts, by event type and whether the delivery was given up "
    "(final=true: 410, refused by the SSRF guard, or retried past its deadline)",
    ["type", "final"],
)
