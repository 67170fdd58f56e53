"""What the dispatcher needs from any provider, and the normalised state it reads back.

Adapters raise ``PermanentError`` (retrying cannot help: bad input, bad credentials,
an answer we cannot understand) or ``TransientError`` (rate limits, 5xx, network).
``ProviderBusyError`` is the transient case where the provider *answered* with an
error to a submission, so nothing was created and submitting again is safe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from reelhouse.common.errors import TransientError
from reelhouse.common.events import OutputFile, ProviderUsage

ProviderStatus = Literal["queued", "running", "succeeded", "failed", "canceled"]

FINAL_STATUSES: frozenset[ProviderStatus] = frozenset({"succeeded", "failed", "canceled"})

# what a cancel request achieved, in the provider's own words normalised:
# canceled (confirmed, or the request is gone), already_final (it finished first: read it),
# pending (accepted; the status will say canceled later)
CancelAnswer = Literal["canceled", "already_final", "pending"]


@dataclass(frozen=True, slots=True)
class ProviderState:
    """A provider's view of one request, in reelhouse's words."""

    request_id: str
    status: ProviderStatus
    # the provider's own status word (``starting``, ``processing``, ``IN_QUEUE`` …)
    raw_status: str
    outputs: list[OutputFile] = field(default_factory=list)
    error: str | None = None
    logs: str | None = None
    queue_position: int | None = None
    # the error class the provider reported next to ``error`` (fal's ``error_type``)
    error_type: str | None = None
    # the catalogue code a failure should carry when not ``provider_model_error``
    failure_code: str | None = None
    # what the provider reports it used (compute time, billed units); None: nothing told
    usage: ProviderUsage | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def started(self) -> bool:
        """The provider began the work (or is done with it)."""
        return self.status != "queued"

    @property
    def progress_key(self) -> str:
        """What identifies a progress report: the status, and the queue position when known."""
        if self.queue_position is None:
            return self.raw_status
        return f"{self.raw_status}:{self.queue_position}"


def usage_from(*, predict_time: object = None, billed_units: object = None) -> ProviderUsage | None:
    """Usage from a provider's raw numbers (anything not a non-negative number is dropped)."""

    def number(value: object) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value) if math.isfinite(value) and value >= 0 else None

    found = ProviderUsage(
        predict_time_seconds=number(predict_time), billed_units=number(billed_units)
    )
    if found.predict_time_seconds is None and found.billed_units is None:
        return None
    return found


@dataclass(frozen=True, slots=True)
class SubmitOptions:
    """Per-submission extras: where to send webhooks, and the job's remaining time."""

    webhook_url: str | None = None
    # seconds the provider may keep working before it should give up on its own
    cancel_after_seconds: float | None = None


class ProviderBusyError(TransientError):
    """The provider refused a submission (429, 5xx): nothing was created, retrying is safe."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        detail: str | None = None,
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(code, message, detail=detail)
        self.retry_after_seconds = retry_after_seconds


class ProviderAdapter(Protocol):
    """One provider endpoint. Implementations must be safe to share between tasks."""

    name: str
    # the webhook protocol this endpoint speaks ("replicate" or "fal")
    protocol: str

    async def submit(
        self, model: str, input: dict[str, Any], options: SubmitOptions | None = None
    ) -> str:
        """Start a generation once (no retries here); return the provider's request id."""
        ...

    async def get(self, model: str, request_id: str) -> ProviderState:
        """Read the request's current state (and its outputs once it succeeded)."""
        ...

    async def cancel(self, model: str, request_id: str) -> CancelAnswer:
        """Ask the provider to stop."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
