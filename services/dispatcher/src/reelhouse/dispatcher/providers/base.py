"""What the dispatcher needs from any provider, and the normalised state it reads back.

Adapters raise ``PermanentError`` (retrying cannot help: bad input, bad credentials,
an answer we cannot understand) or ``TransientError`` (rate limits, 5xx, network).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from reelhouse.common.events import GenerationRequested

ProviderStatus = Literal["queued", "running", "succeeded", "failed", "canceled"]

FINAL_STATUSES: frozenset[ProviderStatus] = frozenset({"succeeded", "failed", "canceled"})


@dataclass(frozen=True, slots=True)
class ProviderState:
    """A provider's view of one request, in reelhouse's words."""

    request_id: str
    status: ProviderStatus
    # the provider's own status word (``starting``, ``processing``, ``aborted`` …)
    raw_status: str
    outputs: list[str] = field(default_factory=list)
    error: str | None = None
    logs: str | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


class ProviderAdapter(Protocol):
    """One provider endpoint. Implementations must be safe to share between tasks."""

    name: str

    async def submit(self, job: GenerationRequested, *, webhook_url: str | None = None) -> str:
        """Start a generation; return the provider's request id.

        ``webhook_url`` is the seam for provider webhooks (not used yet).
        """
        ...

    async def get(self, request_id: str) -> ProviderState:
        """Read the request's current state."""
        ...

    async def cancel(self, request_id: str) -> ProviderState:
        """Ask the provider to stop; returns the state it answered with."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
