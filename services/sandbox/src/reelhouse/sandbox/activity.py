"""What a prediction's callers and webhook receivers saw: counters for the control endpoint.

Kept in memory only (a restart starts the counts again): tests read them through
``GET /_sandbox/predictions/{id}`` to assert "the provider saw a cancel" or "one prediction
per job", and which webhooks went out and what the receiver answered.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class WebhookAttempt:
    # the receiver's HTTP status, or None when the request failed (``error`` says why)
    status_code: int | None
    error: str | None = None


@dataclass(slots=True)
class WebhookDelivery:
    """One webhook message; retries of it reuse its id and add attempts."""

    webhook_id: str
    event: str
    url: str
    # the status the body reports (Replicate's ``status``, fal's ``OK``/``ERROR``/...)
    reported_status: str
    signature_valid: bool
    attempts: list[WebhookAttempt] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        return any(
            attempt.status_code is not None and 200 <= attempt.status_code < 300
            for attempt in self.attempts
        )


@dataclass(slots=True)
class Activity:
    create: int = 0
    poll: int = 0
    cancel: int = 0
    result: int = 0
    # requests for the prediction's output files (signature checked)
    files: int = 0
    # GETs of its output files answered with half a body and then a stall (``stall_body``)
    stalled_files: int = 0
    # identical submits answered 429 before this prediction was created
    throttled_submits: int = 0
    webhooks: list[WebhookDelivery] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "calls": {
                "create": self.create,
                "poll": self.poll,
                "cancel": self.cancel,
                "result": self.result,
                "files": self.files,
                "stalled_files": self.stalled_files,
                "throttled_submits": self.throttled_submits,
            },
            "webhooks": [
                {**asdict(delivery), "delivered": delivery.delivered} for delivery in self.webhooks
            ],
        }
