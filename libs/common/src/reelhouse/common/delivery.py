"""How every worker settles a JetStream message: the delivery policy, stated once.

- success → ack;
- ``PermanentError`` → publish a failure (through ``fail``) and ack;
- anything else (``TransientError``, timeouts, broker or storage trouble) → nak with
  an exponential delay, until the consumer's last delivery, where the job fails
  with ``max_deliveries_exceeded`` instead of being dropped silently;
- while the work runs, an in-progress heartbeat keeps JetStream from redelivering it;
- a failed delivery whose count cannot be read fails the job at once (``internal_error``):
  guessing "first delivery" would retry it past the consumer's last delivery, where
  JetStream drops it without a trace.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import structlog
from nats.aio.msg import Msg
from nats.errors import NotJSMessageError

from reelhouse.common.errors import PermanentError, ReelhouseError, lookup
from reelhouse.common.events import JobError

log = structlog.get_logger(__name__)

Stage = Literal["gateway", "dispatch", "provider", "download", "storage", "assembly"]
FailJob = Callable[[JobError], Awaitable[None]]


class Delivery(Protocol):
    """What settling needs of a message: FastStream's ``NatsMessage`` (fakes in unit tests)."""

    @property
    def raw_message(self) -> Msg: ...

    async def ack(self) -> None: ...

    async def nack(self, delay: float | None = None) -> None: ...

    async def in_progress(self) -> None: ...


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


def delivery_count(msg: Delivery) -> int:
    """How many times JetStream has delivered ``msg``: 1 the first time.

    A core-NATS message (``TestNatsBroker`` in unit tests) has no JetStream metadata and is
    delivered once. Anything else that stops the count being read raises.
    """
    try:
        metadata = msg.raw_message.metadata
    except NotJSMessageError:
        return 1
    return int(metadata.num_delivered)


def logged_attempt(msg: Delivery) -> int | None:
    """``delivery_count`` for a log field: None when it cannot be read.

    Only for logging: ``settle`` reads the count itself and fails the job when it cannot.
    """
    try:
        return delivery_count(msg)
    except Exception:  # the log line still goes out; settle() reports the problem
        return None


def error_from(exc: ReelhouseError, stage: Stage) -> JobError:
    return JobError(
        stage=stage,
        code=exc.code,
        message=exc.message,
        retryable=exc.retryable,
        provider_detail=exc.detail,
    )


@contextlib.asynccontextmanager
async def heartbeats(
    msg: Delivery, *, every: float, alive: Callable[[], bool] | None = None
) -> AsyncIterator[None]:
    """Tell JetStream every ``every`` seconds that ``msg`` is still being worked on.

    With ``alive``, a heartbeat is only sent while it says the work still progresses (the
    assembler's encoder reports progress): stuck work is no longer kept alive, and JetStream
    redelivers it after its ack wait (``delivery.heartbeat_withheld``, once per stall).
    A failed heartbeat is logged (``delivery.heartbeat_failed``) and the next one tried: the
    work goes on, and should the broker stay away, JetStream redelivers after its ack wait.
    """

    async def beat() -> None:
        failures = 0
        withheld = False
        while True:
            await asyncio.sleep(every)
            if alive is not None and not alive():
                if not withheld:
                    log.warning("delivery.heartbeat_withheld", reason="no progress")
                withheld = True
                continue
            withheld = False
            try:
                await msg.in_progress()
            except Exception as exc:
                failures += 1
                log.warning("delivery.heartbeat_failed", failures=failures, error=repr(exc))
            else:
                if failures:
                    log.info("delivery.heartbeat_restored", failures=failures)
                failures = 0

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def settle(
    msg: Delivery,
    work: Awaitable[None],
    *,
    policy: DeliveryPolicy,
    stage: Stage,
    fail: FailJob,
    alive: Callable[[], bool] | None = None,
) -> None:
    """Run ``work`` for one delivery and settle the message according to the policy;
    ``alive`` gates the heartbeats (``heartbeats``)."""
    async with heartbeats(msg, every=policy.heartbeat_seconds, alive=alive):
        try:
            await work
        except PermanentError as exc:
            log.warning("delivery.permanent_failure", code=exc.code, error=exc.message)
            await fail(error_from(exc, stage))
            await msg.ack()
        except Exception as exc:
            await _after_failure(msg, exc, policy=policy, stage=stage, fail=fail)
        else:
            await msg.ack()


async def _after_failure(
    msg: Delivery, exc: Exception, *, policy: DeliveryPolicy, stage: Stage, fail: FailJob
) -> None:
    """Retry later (nak with a delay) or, on the last delivery, fail the job and ack."""
    try:
        attempt = delivery_count(msg)
    except Exception as count_exc:
        log.error("delivery.count_unreadable", error=repr(count_exc), cause=repr(exc))
        internal = lookup("internal_error")
        await fail(
            JobError(
                stage=stage,
                code=internal.code,
                message=(
                    "gave up: the broker's delivery count could not be read, so a retry might"
                    f" have been the last one; the work failed with {_describe(exc)}"
                ),
                retryable=internal.retryable,
            )
        )
        await msg.ack()
        return
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


def _describe(exc: Exception) -> str:
    if isinstance(exc, ReelhouseError):
        return exc.message
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
