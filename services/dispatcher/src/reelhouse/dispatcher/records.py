"""What the stateless dispatcher remembers per job, in a JetStream KeyValue bucket.

The record is written right after the provider accepted a generation and read
before submitting, so a redelivered ``gen.requested.v1`` never creates a second
prediction. One window remains: a crash after the provider answered and before
the record is written leads to a second submission on redelivery (Replicate's
API has no idempotency key to close it).

It also holds the current attempt (index into the job's routes), the deadlines,
and the job's one outcome: whoever sets ``outcome`` first by compare-and-set
(output, failure, cancellation) is the only one that publishes a terminal event.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime
from typing import Literal

from faststream.nats import NatsBroker
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from pydantic import BaseModel, ConfigDict

from reelhouse.common.events import GenerationRequested, JobError, ProviderUsage

_SAFE_KEY = re.compile(r"^[-_=A-Za-z0-9]{1,200}$")
_MAX_WRITE_ATTEMPTS = 10

Outcome = Literal["output", "failed", "canceled"]


class FailedAttempt(BaseModel):
    model_config = ConfigDict(frozen=True)

    attempt: int
    provider: str
    provider_request_id: str | None = None
    error: JobError
    # what the provider reported it used before the attempt was given up
    usage: ProviderUsage | None = None


class DispatchRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    job_id: str
    # the job as requested: its routes and input, for the next attempt
    request: GenerationRequested | None = None
    # index into the job's routes
    attempt: int = 0
    provider: str | None = None
    provider_model: str | None = None
    provider_request_id: str | None = None
    submitted_at: datetime | None = None
    # webhooks were requested for the current attempt (polling slows down)
    webhooks: bool = False
    # GenerationSubmitted and the attempt's PollPrediction were published
    scheduled: bool = False
    # the provider started the current attempt
    started: bool = False
    # the job must be finished by then (set at the first submission, kept across attempts)
    deadline_at: datetime | None = None
    # the current attempt must have started by then
    start_deadline_at: datetime | None = None
    # the owner asked to cancel
    canceled: bool = False
    # the progress key (status, queue position) of the last GenerationProgressed
    last_status: str | None = None
    failed_attempts: list[FailedAttempt] = []
    outcome: Outcome | None = None
    # the W3C trace context the job arrived in: work a webhook triggers joins the job's trace
    trace_context: dict[str, str] = {}

    def next_attempt(self, failure: FailedAttempt) -> DispatchRecord:
        """Move on to the next route, forgetting what belonged to the failed attempt."""
        return self.model_copy(
            update={
                "attempt": self.attempt + 1,
                "provider": None,
                "provider_model": None,
                "provider_request_id": None,
                "submitted_at": None,
                "webhooks": False,
                "scheduled": False,
                "started": False,
                "start_deadline_at": None,
                "last_status": None,
                "failed_attempts": [*self.failed_attempts, failure],
            }
        )


def record_key(job_id: str) -> str:
    """A KeyValue-safe key: the job id itself, or a digest when it has other characters."""
    if _SAFE_KEY.match(job_id):
        return job_id
    return "sha256-" + hashlib.sha256(job_id.encode()).hexdigest()


class DispatchRecords:
    """Job → provider request id, kept in the ``dispatch_bucket`` KeyValue bucket."""

    def __init__(self, broker: NatsBroker, *, bucket: str, ttl_seconds: float) -> None:
        self._broker = broker
        self._bucket = bucket
        self._ttl = ttl_seconds

    async def _kv(self) -> KeyValue:
        # declared once and cached by the broker; needs a connected broker
        return await self._broker.key_value(self._bucket, ttl=self._ttl)

    async def ensure_ready(self) -> None:
        await self._kv()

    async def get(self, job_id: str) -> DispatchRecord | None:
        found = await self._read(await self._kv(), job_id)
        return None if found is None else found[0]

    async def update(
        self, job_id: str, change: Callable[[DispatchRecord], DispatchRecord]
    ) -> DispatchRecord:
        """Read, change and write the record atomically (compare-and-set on the revision)."""
        kv = await self._kv()
        key = record_key(job_id)
        for _ in range(_MAX_WRITE_ATTEMPTS):
            found = await self._read(kv, job_id)
            current, revision = found or (DispatchRecord(job_id=job_id), None)
            record = change(current)
            if record == current and revision is not None:
                return record  # nothing to write
            data = record.model_dump_json().encode()
            try:
                if revision is None:
                    await kv.create(key, data)
                else:
                    await kv.update(key, data, last=revision)
            except KeyWrongLastSequenceError:  # someone wrote in between: read again
                continue
            return record
        raise RuntimeError(f"dispatch record {key} kept changing under us")

    async def _read(self, kv: KeyValue, job_id: str) -> tuple[DispatchRecord, int] | None:
        try:
            entry = await kv.get(record_key(job_id))
        except KeyNotFoundError:  # also raised for deleted keys
            return None
        if not entry.value or entry.revision is None:
            return None
        return DispatchRecord.model_validate_json(entry.value), entry.revision
