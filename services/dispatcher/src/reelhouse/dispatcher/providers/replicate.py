"""Replicate's prediction API (and the sandbox, which speaks it) through the official client.

Only ``predictions.create`` / ``get`` / ``cancel`` are used, never ``run()``: the
dispatcher polls through the broker, so the client never waits or downloads.
A model reference ``owner/name`` goes to the model endpoint
(``POST /v1/models/{owner}/{name}/predictions``), ``owner/name:version`` to the
version endpoint (``POST /v1/predictions``).

replicate 1.0.7 validates predictions strictly (an unknown status such as
``aborted`` raises a pydantic error), so every JSON body is also kept aside by an
httpx response hook and normalised from the raw JSON when the client cannot parse it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Mapping
from contextvars import ContextVar
from typing import Any

import httpx
import pydantic
import pydantic.v1
import structlog
from replicate.client import Client
from replicate.exceptions import ReplicateError
from replicate.prediction import Prediction, Predictions

from reelhouse.common.errors import PermanentError, ReelhouseError, TransientError
from reelhouse.common.events import GenerationRequested
from reelhouse.dispatcher.providers.base import ProviderState, ProviderStatus

log = structlog.get_logger(__name__)

_STATUSES: dict[str, ProviderStatus] = {
    "starting": "queued",
    "processing": "running",
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "canceled",
    # newer API: the prediction's deadline passed before it started
    "aborted": "canceled",
}
_URL_PREFIXES = ("https://", "http://", "data:")
_PARSE_ERRORS = (pydantic.ValidationError, pydantic.v1.ValidationError)

# the JSON body of the latest response seen in this task (set by the response hook)
_last_body: ContextVar[Any] = ContextVar("replicate_last_body", default=None)


async def _remember_body(response: httpx.Response) -> None:
    if "json" not in response.headers.get("content-type", ""):
        return
    await response.aread()
    with contextlib.suppress(ValueError):
        _last_body.set(response.json())


def parse_model_ref(ref: str) -> tuple[str, str | None]:
    """``owner/name`` → (``owner/name``, None); ``owner/name:version`` → (``owner/name``, version)."""
    model, _, version = ref.partition(":")
    owner, _, name = model.partition("/")
    if not owner or not name or "/" in name or (":" in ref and not version):
        raise PermanentError(
            "unknown_model",
            f"{ref!r} is not a Replicate model reference (owner/name or owner/name:version).",
        )
    return model, version or None


def error_from_replicate(exc: ReplicateError) -> ReelhouseError:
    """Map an HTTP error from the API to our catalogue (by status code)."""
    status = exc.status or 0
    detail = exc.detail or exc.title
    if status == 429:
        return TransientError("provider_rate_limited", detail=detail)
    if status >= 500 or status in (0, 408):
        return TransientError(
            "provider_unavailable", f"The provider answered HTTP {status}.", detail=detail
        )
    if status in (401, 403):
        return PermanentError(
            "provider_rejected_input",
            f"The provider refused our credentials (HTTP {status}); check its API token.",
            detail=detail,
        )
    if status == 404:
        return PermanentError(
            "provider_rejected_input",
            "The provider has no such model or prediction (HTTP 404).",
            detail=detail,
        )
    return PermanentError("provider_rejected_input", detail=detail)


def output_urls(output: Any) -> list[str]:
    """The URLs in a prediction's ``output``: one string, a list, or a mapping of them."""
    if isinstance(output, str):
        items: list[Any] = [output]
    elif isinstance(output, list | tuple):
        items = list(output)
    elif isinstance(output, Mapping):
        items = list(output.values())
    else:
        items = []
    return [i for i in items if isinstance(i, str) and i.startswith(_URL_PREFIXES)]


def state_from_json(data: Any) -> ProviderState:
    """Normalise a prediction object (parsed by the client or raw JSON)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("id"), str) or not data["id"]:
        raise PermanentError(
            "provider_protocol_error", detail=f"not a prediction object: {str(data)[:300]}"
        )
    raw_status = str(data.get("status"))
    status = _STATUSES.get(raw_status)
    if status is None:
        raise PermanentError(
            "provider_protocol_error", detail=f"unknown prediction status {raw_status!r}"
        )
    error = data.get("error")
    if error is not None and not isinstance(error, str):
        error = str(error)
    if raw_status == "aborted" and not error:
        error = "The provider aborted the prediction before it started (its deadline passed)."
    logs = data.get("logs")
    return ProviderState(
        request_id=data["id"],
        status=status,
        raw_status=raw_status,
        outputs=output_urls(data.get("output")) if status == "succeeded" else [],
        error=error,
        logs=logs if isinstance(logs, str) else None,
    )


def _fields(prediction: Prediction) -> dict[str, Any]:
    return {
        "id": prediction.id,
        "status": prediction.status,
        "output": prediction.output,
        "error": prediction.error,
        "logs": prediction.logs,
    }


class ReplicateAdapter:
    """A Replicate-protocol endpoint (Replicate itself or the sandbox)."""

    def __init__(
        self,
        name: str,
        *,
        base_url: str,
        api_token: str,
        timeout_seconds: float = 20.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url
        self._timeout = timeout_seconds
        self._transport = transport or httpx.AsyncHTTPTransport()
        self._client = Client(
            api_token=api_token,
            base_url=base_url,
            timeout=httpx.Timeout(timeout_seconds),
            transport=self._transport,
            event_hooks={"response": [_remember_body]},
        )

    async def submit(self, job: GenerationRequested, *, webhook_url: str | None = None) -> str:
        model, version = parse_model_ref(job.provider_model)
        params: Predictions.CreatePredictionParams = {}
        if webhook_url is not None:
            params["webhook"] = webhook_url
        if version is None:
            created = self._client.models.predictions.async_create(
                model=model, input=job.input, **params
            )
        else:
            created = self._client.predictions.async_create(
                version=version, input=job.input, **params
            )
        state = await self._call("create", created)
        log.info("provider.submitted", provider=self.name, provider_request_id=state.request_id)
        return state.request_id

    async def get(self, request_id: str) -> ProviderState:
        return await self._call("get", self._client.predictions.async_get(request_id))

    async def cancel(self, request_id: str) -> ProviderState:
        state = await self._call("cancel", self._client.predictions.async_cancel(request_id))
        log.info("provider.canceled", provider=self.name, provider_request_id=request_id)
        return state

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def _call(self, action: str, call: Awaitable[Prediction]) -> ProviderState:
        """Run one API call, bounded in time, and normalise its result or its error."""
        _last_body.set(None)
        try:
            async with asyncio.timeout(self._timeout):
                prediction = await call
        except ReplicateError as exc:
            raise error_from_replicate(exc) from exc
        except _PARSE_ERRORS as exc:
            # the client could not parse the prediction: read the JSON it was given
            log.warning("provider.unparsed_prediction", action=action, error=str(exc)[:300])
            return state_from_json(_last_body.get())
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
