"""Replicate's HTTP API, the subset the official ``replicate`` 1.0.7 client uses.

Routes are thin: validate, create or look up a prediction, answer with ``wire`` shapes.
Authentication (``Authorization: Bearer <any token>``) is checked by ``BearerTokenMiddleware``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from reelhouse.sandbox.context import SandboxContext, context_of
from reelhouse.sandbox.models import ModelSpec, find_model, find_version
from reelhouse.sandbox.predictions import Prediction, Status
from reelhouse.sandbox.submissions import InputRejectedError, Submission, SubmitThrottledError
from reelhouse.sandbox.webhooks import REPLICATE_EVENTS
from reelhouse.sandbox.wire import invalid_input, prediction_json, problem, version_json

log = structlog.get_logger(__name__)

MAX_WAIT_SECONDS = 60
PAGE_SIZE = 100


class BearerTokenMiddleware:
    """401 for ``/v1/*`` requests without ``Authorization: Bearer <non-empty token>``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            headers = dict(scope["headers"])
            scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
            if scheme.lower() not in ("bearer", "token") or not token.strip():
                response = problem(
                    401,
                    "Unauthenticated",
                    "You did not pass a valid authentication token "
                    "(Authorization: Bearer <token>).",
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def parse_prefer_wait(header: str | None) -> float | None:
    """Seconds to hold a create request: ``Prefer: wait`` (60) or ``wait=N`` (1–60)."""
    for token in (header or "").split(","):
        key, _, value = token.strip().partition("=")
        if key.strip().lower() != "wait":
            continue
        try:
            seconds = int(value) if value.strip() else MAX_WAIT_SECONDS
        except ValueError:
            seconds = MAX_WAIT_SECONDS
        return float(min(MAX_WAIT_SECONDS, max(1, seconds)))
    return None


async def _json_body(request: Request) -> dict[str, Any] | Response:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return problem(400, "Invalid JSON", "The request body is not valid JSON.")
    if not isinstance(body, dict):
        return problem(400, "Invalid JSON", "The request body must be a JSON object.")
    return body


async def create_for_model(request: Request) -> Response:
    ref = f"{request.path_params['owner']}/{request.path_params['name']}"
    spec = find_model(ref, "replicate")
    if spec is None:
        return problem(404, "Not found", f"Model {ref} does not exist (sandbox models only).")
    body = await _json_body(request)
    if isinstance(body, Response):
        return body
    return await _create(request, spec, body, version="hidden")


async def create_for_version(request: Request) -> Response:
    body = await _json_body(request)
    if isinstance(body, Response):
        return body
    version = body.get("version")
    spec = find_version(version) if isinstance(version, str) else None
    if spec is None:
        return problem(
            422,
            "Invalid version",
            "The specified version does not exist (or perhaps you don't have permission to use it?)",
        )
    return await _create(request, spec, body, version=spec.version_id)


def _webhook_of(body: dict[str, Any]) -> tuple[str | None, tuple[str, ...]] | Response:
    """``webhook`` and ``webhook_events_filter`` of a create body, or a 422 problem."""
    url = body.get("webhook")
    events = body.get("webhook_events_filter")
    if url is None:
        return None, ()
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        return problem(422, "Invalid webhook", "webhook must be an http(s) URL.")
    if events is None:
        return url, ()
    if (
        not isinstance(events, list)
        or not events
        or not all(isinstance(e, str) and e in REPLICATE_EVENTS for e in events)
    ):
        known = ", ".join(sorted(REPLICATE_EVENTS))
        return problem(
            422,
            "Invalid webhook events filter",
            f"webhook_events_filter must list some of: {known}.",
        )
    return url, tuple(dict.fromkeys(events))


async def _create(
    request: Request, spec: ModelSpec, body: dict[str, Any], *, version: str
) -> Response:
    context = context_of(request)
    raw_input = body.get("input", {})
    if not isinstance(raw_input, dict):
        return invalid_input(ValueError("input must be a JSON object"))
    webhook = _webhook_of(body)
    if isinstance(webhook, Response):
        return webhook
    submission = Submission(
        spec, raw_input, version=version, webhook_url=webhook[0], webhook_events=webhook[1]
    )
    try:
        prediction = context.submitter.submit(submission)
    except InputRejectedError as exc:
        return invalid_input(exc.error)
    except SubmitThrottledError as exc:
        return problem(
            429,
            "Request was throttled",
            f"Request was throttled. Your rate limit resets in ~{exc.retry_after_seconds}s.",
            headers={"Retry-After": str(exc.retry_after_seconds)},
        )
    wait = parse_prefer_wait(request.headers.get("prefer"))
    status: Status | None = None
    if wait is not None:
        try:
            await asyncio.wait_for(prediction.finished.wait(), timeout=wait)
        except TimeoutError:
            # the hold expired: the real API then answers ``starting``, never ``processing``
            status = Status.STARTING
    return JSONResponse(
        prediction_json(prediction, context.settings.public_base_url, status=status),
        status_code=201,
    )


def _lookup(request: Request) -> tuple[SandboxContext, Prediction | Response]:
    context = context_of(request)
    prediction_id = request.path_params["prediction_id"]
    prediction = context.find(prediction_id, "replicate")
    if prediction is None:
        return context, problem(404, "Not found", f"Prediction {prediction_id} does not exist.")
    return context, prediction


def _poll_failure(prediction: Prediction) -> Response | None:
    """Fault ``server_error_poll``: the first polls answer 500, then 503 (both JSON)."""
    prediction.activity.poll += 1
    poll = prediction.activity.poll
    if poll > prediction.plan.poll_failures:
        return None
    log.info("prediction.poll_failed", prediction_id=prediction.id, poll=poll)
    if poll == 1:
        return problem(500, "Internal Server Error", "Something went wrong on our side.")
    return problem(503, "Service Unavailable", "The service is temporarily unavailable.")


async def get_prediction(request: Request) -> Response:
    context, found = _lookup(request)
    if isinstance(found, Response):
        return found
    failure = _poll_failure(found)
    if failure is not None:
        return failure
    return JSONResponse(prediction_json(found, context.settings.public_base_url))


async def cancel_prediction(request: Request) -> Response:
    """A non-terminal prediction becomes ``canceled``; a terminal one comes back unchanged."""
    context, found = _lookup(request)
    if isinstance(found, Response):
        return found
    found.activity.cancel += 1
    await context.runner.cancel(found)
    return JSONResponse(prediction_json(found, context.settings.public_base_url))


async def webhook_secret(request: Request) -> Response:
    return JSONResponse({"key": context_of(request).keys.replicate_secret})


async def list_predictions(request: Request) -> Response:
    """Newest first, cursor-paginated; ``next`` is an absolute URL the client follows."""
    context = context_of(request)
    try:
        offset = max(0, int(request.query_params.get("cursor", "0")))
        limit = min(PAGE_SIZE, max(1, int(request.query_params.get("page_size", PAGE_SIZE))))
    except ValueError:
        return problem(400, "Invalid cursor", "The pagination cursor is not valid.")
    items, following = context.store.page(offset=offset, limit=limit, protocol="replicate")
    base = context.settings.public_base_url.rstrip("/")

    def page_url(at: int) -> str:
        return f"{base}/v1/predictions?cursor={at}&page_size={limit}"

    return JSONResponse(
        {
            "previous": page_url(max(0, offset - limit)) if offset > 0 else None,
            "next": page_url(following) if following is not None else None,
            "results": [prediction_json(p, base) for p in items],
        }
    )


async def get_version(request: Request) -> Response:
    ref = f"{request.path_params['owner']}/{request.path_params['name']}"
    spec = find_model(ref, "replicate")
    if spec is None or request.path_params["version_id"] != spec.version_id:
        return problem(
            404, "Not found", f"No version {request.path_params['version_id']} of {ref}."
        )
    return JSONResponse(version_json(spec))


routes = [
    Route("/v1/models/{owner}/{name}/predictions", create_for_model, methods=["POST"]),
    Route("/v1/models/{owner}/{name}/versions/{version_id}", get_version, methods=["GET"]),
    Route("/v1/predictions", create_for_version, methods=["POST"]),
    Route("/v1/predictions", list_predictions, methods=["GET"]),
    Route("/v1/predictions/{prediction_id}", get_prediction, methods=["GET"]),
    Route("/v1/predictions/{prediction_id}/cancel", cancel_prediction, methods=["POST"]),
    Route("/v1/webhooks/default/secret", webhook_secret, methods=["GET"]),
]
