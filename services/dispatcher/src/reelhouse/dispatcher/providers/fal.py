"""fal.ai's queue (and the sandbox's fal listener) through the official async ``fal_client``.

Submit with ``fal_webhook``; status with logs; the result is fetched the moment
the status says ``COMPLETED`` (fal keeps large results only minutes). A request
that ended ``COMPLETED`` with ``error`` is a failure. A status the client does not
know (it raises ``ValueError``) is a protocol error.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx
import structlog
from fal_client import Completed, FalClientHTTPError, InProgress, Queued, Status
from opentelemetry.sdk.trace import TracerProvider

from reelhouse.common.errors import PermanentError, ReelhouseError, TransientError
from reelhouse.common.events import OutputFile, ProviderUsage
from reelhouse.dispatcher.providers.base import (
    CancelAnswer,
    ProviderBusyError,
    ProviderState,
    SubmitOptions,
    usage_from,
)
from reelhouse.dispatcher.providers.fal_queue import (
    QueueClient,
    last_billable_units,
    last_response,
    ssl_context,
)
from reelhouse.dispatcher.providers.submit_retry import parse_retry_after

log = structlog.get_logger(__name__)

T = TypeVar("T")

# COMPLETED with one of these error types: the request was canceled, not a model failure
CANCELED_ERROR_TYPES = frozenset({"request_cancelled", "request_canceled"})
# COMPLETED with one of these (fal's model error types for inputs): the input was at fault
# (a file it could not fetch or read), so the job fails ``provider_rejected_input``
INPUT_ERROR_TYPES = frozenset(
    {"file_download_error", "image_load_error", "image_too_large", "image_too_small"}
)
# cancel answers (body ``status``) and what they mean for the job
_CANCEL_ANSWERS: dict[str, CancelAnswer] = {
    "CANCELLATION_REQUESTED": "canceled",
    "OK": "canceled",
    "NOT_FOUND": "canceled",
    "ALREADY_COMPLETED": "already_final",
}


def _detail(message: Any) -> str:
    return message if isinstance(message, str) else json.dumps(message)[:1000]


def error_from_fal(exc: FalClientHTTPError) -> ReelhouseError:
    """Map an HTTP error from the queue to our catalogue (by status code)."""
    status = exc.status_code
    detail = _detail(exc.message)
    if exc.error_type:
        detail = f"{exc.error_type}: {detail}"
    retry_after = parse_retry_after(exc.response_headers.get("retry-after"))
    if status == 429:
        return ProviderBusyError(
            "provider_rate_limited", detail=detail, retry_after_seconds=retry_after
        )
    if status >= 500:
        return ProviderBusyError(
            "provider_unavailable",
            f"The provider answered HTTP {status}.",
            detail=detail,
            retry_after_seconds=retry_after,
        )
    if status in (408, 409):
        return TransientError("provider_unavailable", detail=detail)
    if status in (401, 403):
        return PermanentError(
            "provider_rejected_input",
            f"The provider refused our credentials (HTTP {status}); check its key.",
            detail=detail,
        )
    return PermanentError("provider_rejected_input", detail=detail)


def output_files(result: Any) -> list[OutputFile]:
    """File objects in a result (``video``, ``images[]``, ``audio`` …), in the result's order."""
    found: list[Mapping[str, Any]] = []
    if isinstance(result, Mapping):
        for value in result.values():
            items = value if isinstance(value, list) else [value]
            found.extend(
                i for i in items if isinstance(i, Mapping) and isinstance(i.get("url"), str)
            )
    files = []
    for index, item in enumerate(found):
        content_type = item.get("content_type")
        size = item.get("file_size")
        files.append(
            OutputFile(
                index=index,
                url=item["url"],
                content_type=content_type if isinstance(content_type, str) else None,
                size=size if isinstance(size, int) and size >= 0 else None,
            )
        )
    return files


def _logs(entries: list[dict[str, Any]] | None) -> str | None:
    if not entries:
        return None
    return "\n".join(str(e.get("message", "")) for e in entries if isinstance(e, Mapping))


class FalAdapter:
    """A fal-queue endpoint (fal itself or the sandbox's fal listener)."""

    protocol = "fal"

    def __init__(
        self,
        name: str,
        *,
        queue_url: str,
        key: str,
        timeout_seconds: float = 20.0,
        ca_file: Path | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.name = name
        self.queue_url = queue_url
        self._timeout = timeout_seconds
        self._client = QueueClient(
            key=key,
            queue_url=queue_url,
            timeout_seconds=timeout_seconds,
            verify=ssl_context(ca_file),
            transport=transport,
            tracer_provider=tracer_provider,
        )

    async def submit(
        self, model: str, input: dict[str, Any], options: SubmitOptions | None = None
    ) -> str:
        options = options or SubmitOptions()
        handle = await self._call(
            "submit", self._client.submit(model, input, webhook_url=options.webhook_url)
        )
        log.info("provider.submitted", provider=self.name, provider_request_id=handle.request_id)
        return handle.request_id

    async def get(self, model: str, request_id: str) -> ProviderState:
        status = await self._call("status", self._client.status(model, request_id, with_logs=True))
        return await self._state(model, request_id, status)

    async def cancel(self, model: str, request_id: str) -> CancelAnswer:
        last_response.set(None)
        try:
            async with asyncio.timeout(self._timeout):
                await self._client.cancel(model, request_id)
        except FalClientHTTPError as exc:
            answer = _cancel_answer(_json(exc.response))
            if answer is None:
                raise error_from_fal(exc) from exc
        except (TimeoutError, httpx.TransportError) as exc:
            raise TransientError("provider_unavailable", detail=repr(exc)) from exc
        else:
            seen = last_response.get()
            answer = _cancel_answer(seen[1] if seen else None) or "canceled"
        log.info("provider.cancel_answered", provider=self.name, answer=answer)
        return answer

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _state(self, model: str, request_id: str, status: Status) -> ProviderState:
        if isinstance(status, Queued):
            return ProviderState(
                request_id=request_id,
                status="queued",
                raw_status="IN_QUEUE",
                queue_position=status.position,
            )
        if isinstance(status, InProgress):
            return ProviderState(
                request_id=request_id,
                status="running",
                raw_status="IN_PROGRESS",
                logs=_logs(status.logs),
            )
        if not isinstance(status, Completed):
            raise PermanentError("provider_protocol_error", detail=f"unexpected status {status!r}")
        logs = _logs(status.logs)
        metrics = status.metrics if isinstance(status.metrics, Mapping) else {}
        inference_time = metrics.get("inference_time")
        if status.error is not None or status.error_type is not None:
            message = status.error or "the request failed"
            detail = f"{status.error_type}: {message}" if status.error_type else message
            return ProviderState(
                request_id=request_id,
                status="canceled" if status.error_type in CANCELED_ERROR_TYPES else "failed",
                raw_status="COMPLETED",
                error=detail,
                error_type=status.error_type,
                logs=logs,
                failure_code=(
                    "provider_rejected_input" if status.error_type in INPUT_ERROR_TYPES else None
                ),
                usage=usage_from(predict_time=inference_time),
            )
        last_billable_units.set(None)
        try:
            result = await self._call("result", self._client.result(model, request_id))
        except PermanentError as exc:  # the model's own error status (422 …) or result gone
            return ProviderState(
                request_id=request_id,
                status="failed",
                raw_status="COMPLETED",
                error=exc.detail or exc.message,
                logs=logs,
                usage=_usage(inference_time),
            )
        return ProviderState(
            request_id=request_id,
            status="succeeded",
            raw_status="COMPLETED",
            outputs=output_files(result),
            logs=logs,
            usage=_usage(inference_time),
        )

    async def _call(self, action: str, call: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self._timeout):
                return await call
        except FalClientHTTPError as exc:
            raise error_from_fal(exc) from exc
        except (ValueError, KeyError, TypeError) as exc:
            # an unknown status (the client raises ValueError), a missing field (KeyError)
            log.warning("provider.unparsed_answer", action=action, error=repr(exc)[:300])
            raise PermanentError(
                "provider_protocol_error", detail=f"{type(exc).__name__}: {exc}"[:1000]
            ) from exc
        except TimeoutError as exc:
            raise TransientError(
                "provider_unavailable",
                f"The provider did not answer within {self._timeout:g} s ({action}).",
            ) from exc
        except httpx.TransportError as exc:
            raise TransientError(
                "provider_unavailable", detail=f"{type(exc).__name__}: {exc}"
            ) from exc


def _usage(inference_time: Any) -> ProviderUsage | None:
    """Compute time from the status's metrics, billed units from the result's header."""
    units = last_billable_units.get()
    try:
        billed = float(units) if units is not None else None
    except ValueError:
        billed = None
    return usage_from(predict_time=inference_time, billed_units=billed)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _cancel_answer(body: Any) -> CancelAnswer | None:
    if isinstance(body, Mapping):
        return _CANCEL_ANSWERS.get(str(body.get("status")))
    return None
