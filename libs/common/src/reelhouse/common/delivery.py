"""How every worker settles a JetStream message: the delivery policy, stated once.

- success → ack;
- ``PermanentError`` → publish a failure (through ``fail``) and ack;
- anything else (``TransientError``, timeouts, broker or storage trouble) → nak with
  an exponential delay, until the consumer's last delivery, where the job fails
  with ``max_deliveries_exceeded`` instead of being dropped silently;
- while the work runs, an in-progress heartbeat keeps JetStream from redelivering it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import structlog
from faststream.nats import NatsMessage

from reelhouse.common.errors import PermanentError, ReelhouseError
from reelhouse.common.events import JobError

log = structlog.get_logger(__name__)

Stage = Literal["gateway", "dispatch", "provider", "download", "storage"]
FailJob = Callable[[JobError], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    max_deliver: int
    ack_wait_seconds: float
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 60.0

    def delay_for(self, attempt: int) -> float:
        """Backoff before redelivery ``attempt`` (1-based)."""
        return float(min(self.max_delay_seconds, self.base_delay_seconds * 2 ** (attempt - 1)))

    @property
    def heartbeat_seconds(self) -> float:
        return max(0.5, self.ack_wait_seconds / 3)


def delivery_count(msg: NatsMessage) -> int:
    try:
        return int(msg.raw_message.metadata.num_delivered)
    except Exception:  # a core-NATS message in unit tests has no JetStream metadata
        return 1


def error_from(exc: ReelhouseError, stage: Stage) -> JobError:
    return JobError(
        stage=stage,
        code=exc.code,
        message=exc.message,
        retryable=exc.retryable,
        provider_detail=exc.detail,
    )


async def _heartbeat(msg: NatsMessage, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        with contextlib.suppress(Exception):
            await msg.in_progress()


async def settle(
    msg: NatsMessage,
    work: Awaitable[None],
    *,
    policy: DeliveryPolicy,
    stage: Stage,
    fail: FailJob,
) -> None:
    """Run ``work`` for one delivery and settle the message according to the policy."""
    beat = asyncio.create_task(_heartbeat(msg, policy.heartbeat_seconds))
    try:
        await work
    except PermanentError as exc:
        log.warning("delivery.permanent_failure", code=exc.code, error=exc.message)
        await fail(error_from(exc, stage))
        await msg.ack()
    except Exception as exc:
        attempt = delivery_count(msg)
        if attempt >= policy.max_deliver:
            log.error("delivery.gave_up", attempt=attempt, error=repr(exc))
            await fail(
                JobError(
                    stage=stage,
                    code="max_deliveries_exceeded",
                    message=f"gave up after {attempt} attempts: {_describe(exc)}",
                    retryable=False,
                    provider_detail=getattr(exc, "detail", None),
                )
            )
            await msg.ack()
        else:
            delay = policy.delay_for(attempt)
            log.warning("delivery.retry", attempt=attempt, delay=delay, error=repr(exc))
            await msg.nack(delay=delay)
    else:
        await msg.ack()
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat


def _describe(exc: Exception) -> str:
    if isinstance(exc, ReelhouseError):
        return exc.message
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
