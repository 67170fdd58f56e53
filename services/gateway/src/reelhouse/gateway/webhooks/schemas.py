"""API shapes of webhook secrets and deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class WebhookSecretOut(BaseModel):
    """The secret that signs your webhooks (Standard Webhooks format)."""

    secret: str = Field(examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])


class DeliveryAttemptOut(BaseModel):
    """One HTTP attempt: when, and the response code or the error."""

    attempted_at: datetime
    succeeded: bool
    status_code: int | None = Field(description="The endpoint's response status, if it answered")
    error: str | None = Field(description="Why the attempt failed, when it did")


class DeliveryOut(BaseModel):
    """One webhook message about the job (composition); ``id`` is its ``webhook-id`` on every
    attempt."""

    id: str = Field(examples=["msg_2b7c1e0d9a8f4e6b8c3d2a1f0e9d8c7b"])
    type: str = Field(examples=["generation.succeeded"])
    status: Literal["pending", "delivered", "failed"]
    url: str
    event_id: str = Field(
        description="The job event (see `/events`) that caused it; for a composition, its "
        "part's job event, the assembler's answer (`<id>:assembled:<n>`) or the API call "
        "(`<id>:cancel:<time>`, `<id>:retry:<time>`)"
    )
    created_at: datetime
    next_attempt_at: datetime | None = Field(description="When it is tried next, while pending")
    delivered_at: datetime | None
    give_up_at: datetime = Field(description="Retries stop after this time")
    attempts: list[DeliveryAttemptOut] = Field(description="Every attempt, oldest first")


class DeliveryList(BaseModel):
    data: list[DeliveryOut]
