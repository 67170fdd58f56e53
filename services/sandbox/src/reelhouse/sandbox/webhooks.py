"""Webhooks: which changes of a prediction send one, and their delivery.

Replicate: the prediction JSON for the events its ``webhook_events_filter`` asked for
(``start`` on creation, ``logs`` at most every 500 ms, ``output``/``completed`` on the
end; when both are asked for, the end sends one ``completed`` message). fal: one message
when the request ends. Messages of one prediction go out one after another; each is
retried on a non-2xx answer or a connection error with the same id (``webhook_attempts``
tries, growing pauses), never following redirects, each try bounded by
``webhook_timeout_seconds``. The webhook faults of the plan apply here.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass
from typing import Any

import httpx
import structlog

from reelhouse.sandbox import fal_wire, wire
from reelhouse.sandbox.activity import WebhookAttempt, WebhookDelivery
from reelhouse.sandbox.outputs import OutputFiles
from reelhouse.sandbox.predictions import TERMINAL_STATUSES, Prediction, Protocol, Status
from reelhouse.sandbox.webhook_signing import (
    FAL_USER_ID,
    WebhookKeys,
    corrupt_fal_signature,
    corrupt_replicate_signature,
    fal_signature,
    replicate_signature,
)

log = structlog.get_logger(__name__)

REPLICATE_EVENTS = frozenset({"start", "output", "logs", "completed"})
# without a filter Replicate sends on new output and on completion
DEFAULT_REPLICATE_EVENTS = ("output", "completed")
LOGS_INTERVAL_SECONDS = 0.5
BACKOFF_FIRST_SECONDS = 0.2
BACKOFF_MAX_SECONDS = 5.0
USER_AGENT = "reelhouse-sandbox-webhooks/1.0"


@dataclass(frozen=True, slots=True)
class Message:
    prediction: Prediction
    event: str
    body: bytes
    webhook_id: str

    @property
    def protocol(self) -> Protocol:
        return self.prediction.protocol


def _new_webhook_id() -> str:
    return "msg_" + os.urandom(12).hex()


class WebhookNotifier:
    def __init__(
        self,
        *,
        keys: WebhookKeys,
        outputs: OutputFiles,
        public_base_url: str,
        timeout_seconds: float,
        attempts: int,
    ) -> None:
        self._keys = keys
        self._outputs = outputs
        self._base_url = public_base_url
        self._attempts = attempts
        self._http = httpx.AsyncClient(
            follow_redirects=False, timeout=httpx.Timeout(timeout_seconds), trust_env=False
        )
        self._seen: dict[str, tuple[Status, int]] = {}
        self._logs_sent_at: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def remember(self, prediction: Prediction) -> None:
        """A prediction loaded after a restart: what it already sent is not sent again."""
        self._seen[prediction.id] = (prediction.status, len(prediction.logs))

    def observe(self, prediction: Prediction) -> None:
        """Called on every change of every prediction: send what the change calls for."""
        if prediction.webhook_url is None:
            return
        before = self._seen.get(prediction.id)
        self._seen[prediction.id] = (prediction.status, len(prediction.logs))
        ended = prediction.is_terminal and (before is None or before[0] not in TERMINAL_STATUSES)
        if prediction.protocol == "fal":
            if ended:
                self._send_end(
                    prediction, "completed", fal_wire.webhook_json(prediction, self._outputs)
                )
            return
        wanted = set(prediction.webhook_events or DEFAULT_REPLICATE_EVENTS)
        body = wire.prediction_json(prediction, self._base_url)
        if before is None and prediction.status is Status.STARTING and "start" in wanted:
            self._enqueue(prediction, "start", body)
        elif ended:
            if "completed" in wanted:
                self._send_end(prediction, "completed", body)
            elif "output" in wanted and prediction.status is Status.SUCCEEDED:
                self._send_end(prediction, "output", body)
        elif before is not None and before[1] != len(prediction.logs) and "logs" in wanted:
            now = time.monotonic()
            if now - self._logs_sent_at.get(prediction.id, 0.0) >= LOGS_INTERVAL_SECONDS:
                self._logs_sent_at[prediction.id] = now
                self._enqueue(prediction, "logs", body)

    def _send_end(self, prediction: Prediction, event: str, body: dict[str, Any]) -> None:
        self._enqueue(prediction, event, body)
        if prediction.plan.webhook_stale_after_terminal:
            if prediction.protocol == "fal":
                stale = fal_wire.stale_webhook_json(prediction)
            else:
                stale = wire.stale_prediction_json(prediction, self._base_url)
            self._enqueue(
                prediction, "logs" if prediction.protocol == "replicate" else "stale", stale
            )

    def _enqueue(self, prediction: Prediction, event: str, body: dict[str, Any]) -> None:
        plan = prediction.plan
        if not plan.webhooks:
            log.info("webhook.suppressed", prediction_id=prediction.id, webhook_event=event)
            return
        message = Message(
            prediction=prediction,
            event=event,
            body=json.dumps(body, separators=(",", ":")).encode(),
            webhook_id=_new_webhook_id(),
        )
        lock = self._locks.setdefault(prediction.id, asyncio.Lock())
        task = asyncio.create_task(self._send(message, lock, copies=plan.webhook_copies))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, message: Message, lock: asyncio.Lock, *, copies: int) -> None:
        async with lock:
            for _ in range(copies):
                await self._deliver(message)

    def _headers(self, message: Message, timestamp: int) -> dict[str, str]:
        corrupt = message.prediction.plan.webhook_bad_signature
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if message.protocol == "fal":
            request_id = message.prediction.id
            signature = fal_signature(
                self._keys.fal_private_key, request_id, FAL_USER_ID, timestamp, message.body
            )
            headers.update(
                {
                    "X-Fal-Webhook-Request-Id": request_id,
                    "X-Fal-Webhook-User-Id": FAL_USER_ID,
                    "X-Fal-Webhook-Timestamp": str(timestamp),
                    "X-Fal-Webhook-Signature": (
                        corrupt_fal_signature(signature) if corrupt else signature
                    ),
                }
            )
            return headers
        signature = replicate_signature(
            self._keys.replicate_secret, message.webhook_id, timestamp, message.body
        )
        headers.update(
            {
                "webhook-id": message.webhook_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": (
                    corrupt_replicate_signature(signature) if corrupt else signature
                ),
            }
        )
        return headers

    async def _deliver(self, message: Message) -> None:
        prediction = message.prediction
        url = prediction.webhook_url
        assert url is not None
        record = WebhookDelivery(
            webhook_id=message.webhook_id,
            event=message.event,
            url=url,
            reported_status=str(json.loads(message.body).get("status")),
            signature_valid=not prediction.plan.webhook_bad_signature,
        )
        prediction.activity.webhooks.append(record)
        for attempt in range(1, self._attempts + 1):
            headers = self._headers(message, int(time.time()))
            try:
                response = await self._http.post(url, content=message.body, headers=headers)
            except httpx.HTTPError as exc:
                record.attempts.append(WebhookAttempt(status_code=None, error=repr(exc)))
            else:
                record.attempts.append(WebhookAttempt(status_code=response.status_code))
            if record.delivered:
                log.info(
                    "webhook.delivered",
                    prediction_id=prediction.id,
                    webhook_event=message.event,
                    attempts=attempt,
                )
                return
            if attempt < self._attempts:
                await asyncio.sleep(
                    min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** (attempt - 1))
                )
        log.warning(
            "webhook.undelivered",
            prediction_id=prediction.id,
            webhook_event=message.event,
            attempts=self._attempts,
            last=record.attempts[-1].status_code if record.attempts else None,
        )

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._http.aclose()
