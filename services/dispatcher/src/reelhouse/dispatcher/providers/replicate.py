"""Replicate's prediction API (and the sandbox, which speaks it) through the official client.

Only ``predictions.create`` / ``get`` / ``cancel`` are used, never ``run()``: the
dispatcher polls through the broker, so the client never waits or downloads.
A model reference ``owner/name`` goes to the model endpoint
(``POST /v1/models/{owner}/{name}/predictions``), ``owner/name:version`` to the
version endpoint (``POST /v1/predictions``).

Two httpx event hooks carry what the 1.0.7 client has no parameter for: a request
hook adds the ``Cancel-After`` header to the create call of this task, and a
response hook keeps the JSON body and ``Retry-After`` aside, so a prediction the
client cannot parse (``aborted``, new statuses) is read from the raw JSON and a
429 on create is retried after the provider's delay.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx
import pydantic
import pydantic.v1
import structlog
from opentelemetry.sdk.trace import TracerProvider
from replicate.client import Client
from replicate.exceptions import ReplicateError
from replicate.prediction import Prediction, Predictions

from reelhouse.common.errors import PermanentError, TransientError
from reelhouse.dispatcher.providers.base import CancelAnswer, ProviderState, SubmitOptions
from reelhouse.dispatcher.providers.replicate_wire import (
    cancel_after,
    error_from_replicate,
    parse_model_ref,
    state_from_json,
)
from reelhouse.dispatcher.providers.submit_retry import parse_retry_after
from reelhouse.dispatcher.providers.traced_http import traced_transport

log = structlog.get_logger(__name__)

# Replicate's webhook events worth a look: it started, new output, it ended
WEBHOOK_EVENTS = ["start", "output", "completed"]
_PARSE_ERRORS = (pydantic.ValidationError, pydantic.v1.ValidationError)


@dataclass(frozen=True, slots=True)
class _Seen:
    body: Any
    retry_after: str | None


# the latest response seen in this task (set by the response hook)
_last_seen: ContextVar[_Seen | None] = ContextVar("replicate_last_seen", default=None)
# the Cancel-After value for the create call running in this task
_cancel_after: ContextVar[str | None] = ContextVar("replicate_cancel_after", default=None)


async def _add_cancel_after(request: httpx.Request) -> None:
    value = _cancel_after.get()
    if value is not None and request.method == "POST":
        request.headers["Cancel-After"] = value


async def _remember_response(response: httpx.Response) -> None:
    body: Any = None
    if "json" in response.headers.get("content-type", ""):
        await response.aread()
        with contextlib.suppress(ValueError):
            body = response.json()
    _last_seen.set(_Seen(body=body, retry_after=response.headers.get("retry-after")))


def _fields(prediction: Prediction) -> dict[str, Any]:
    return {
        "id": prediction.id,
        "status": prediction.status,
        "output": prediction.output,
        "error": prediction.error,
        "logs": prediction.logs,
        "metrics": prediction.metrics,
    }


class ReplicateAdapter:
    """A Replicate-protocol endpoint (Replicate itself or the sandbox)."""

    protocol = "replicate"

    def __init__(
        self,
        name: str,
        *,
        base_url: str,
        api_token: str,
        timeout_seconds: float = 20.0,
        transport: httpx.AsyncBaseTransport | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url
        self._timeout = timeout_seconds
        self._transport = traced_transport(transport or httpx.AsyncHTTPTransport(), tracer_provider)
        self._client = Client(
            api_token=api_token,
            base_url=base_url,
            timeout=httpx.Timeout(timeout_seconds),
            transport=self._transport,
            event_hooks={"request": [_add_cancel_after], "response": [_remember_response]},
        )

    async def submit(
        self, model: str, input: dict[str, Any], options: SubmitOptions | None = None
    ) -> str:
        options = options or SubmitOptions()
        name, version = parse_model_ref(model)
        params: Predictions.CreatePredictionParams = {}
        if options.webhook_url is not None:
            params["webhook"] = options.webhook_url
            params["webhook_events_filter"] = list(WEBHOOK_EVENTS)
        token = _cancel_after.set(
            None
            if options.cancel_after_seconds is None
            else cancel_after(options.cancel_after_seconds)
        )
        try:
            if version is None:
                created = self._client.models.predictions.async_create(
                    model=name, input=input, **params
                )
            else:
                created = self._client.predictions.async_create(
                    version=version, input=input, **params
                )
            state = await self._call("create", created)
        finally:
            _cancel_after.reset(token)
        log.info("provider.submitted", provider=self.name, provider_request_id=state.request_id)
        return state.request_id

    async def get(self, model: str, request_id: str) -> ProviderState:
        return await self._call("get", self._client.predictions.async_get(request_id))

    async def cancel(self, model: str, request_id: str) -> CancelAnswer:
        state = await self._call("cancel", self._client.predictions.async_cancel(request_id))
        log.info("provider.cancel_answered", provider=self.name, status=state.raw_status)
        if state.status == "canceled":
            return "canceled"
        return "already_final" if state.final else "pending"

    async def webhook_secret(self) -> str:
        """The account's webhook signing secret (``whsec_...``)."""
        async with asyncio.timeout(self._timeout):
            try:
                secret = await self._client.webhooks.default.async_secret()
            except ReplicateError as exc:
                raise error_from_replicate(exc) from exc
        return secret.key

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def _call(self, action: str, call: Awaitable[Prediction]) -> ProviderState:
        """Run one API call, bounded in time, and normalise its result or its error."""
        _last_seen.set(None)
        try:
            async with asyncio.timeout(self._timeout):
                prediction = await call
        except ReplicateError as exc:
            seen = _last_seen.get()
            delay = parse_retry_after(seen.retry_after) if seen else None
            raise error_from_replicate(exc, retry_after_seconds=delay) from exc
        except _PARSE_ERRORS as exc:
            # the client could not parse the prediction: read the JSON it was given
            log.warning("provider.unparsed_prediction", action=action, error=str(exc)[:300])
            seen = _last_seen.get()
            return state_from_json(seen.body if seen else None)
        except TimeoutError as exc:
            raise TransientError(
                "provider_unavailable",
                f"The provider did not answer within {self._timeout:g} s ({action}).",
            ) from exc
        except httpx.TransportError as exc:
            raise TransientError(
                "provider_unavailable", detail=f"{type(exc).__name__}: {exc}"
            ) from exc
        except (httpx.HTTPError, ValueError) as exc:
            raise PermanentError(
                "provider_protocol_error", detail=f"{type(exc).__name__}: {exc}"
            ) from exc
        return state_from_json(_fields(prediction))
