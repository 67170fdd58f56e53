"""fal's queue API (the subset ``fal-client`` 1.0.3 uses), served on the HTTPS listener.

``POST /{owner}/{app}[/{path}]`` submits (``?fal_webhook=`` for a webhook); status, result
and cancel live under ``/{owner}/{app}/requests/{id}``. Authentication
(``Authorization: Key <any key>``) is checked by ``KeyAuthMiddleware``; the JWKS that
verifies the webhooks is public. The jobs are the same predictions the Replicate routes
serve (one store, one runner); only the wire shapes differ (``fal_wire``).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import structlog
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from reelhouse.sandbox import fal_wire
from reelhouse.sandbox.context import SandboxContext, context_of
from reelhouse.sandbox.files import HTML_ERROR_PAGE
from reelhouse.sandbox.models import find_model
from reelhouse.sandbox.predictions import Prediction
from reelhouse.sandbox.submissions import InputRejectedError, Submission, SubmitThrottledError

log = structlog.get_logger(__name__)

PUBLIC_PATHS = ("/.well-known/", "/healthz")


class KeyAuthMiddleware:
    """401 without ``Authorization: Key <non-empty key>`` (``Bearer`` is accepted too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(PUBLIC_PATHS):
            headers = dict(scope["headers"])
            scheme, _, key = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
            if scheme.lower() not in ("key", "bearer") or not key.strip():
                response = fal_wire.error_response(
                    401, "Missing or invalid credentials (Authorization: Key <key>).", None
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _validation_detail(error: ValidationError | ValueError) -> list[dict[str, Any]]:
    """fal's (FastAPI's) 422 ``detail``: a list of typed errors with their location."""
    if isinstance(error, ValidationError):
        return [
            {"loc": ["body", *item["loc"]], "msg": item["msg"], "type": item["type"]}
            for item in error.errors(include_url=False)
        ]
    return [{"loc": ["body"], "msg": str(error), "type": "value_error"}]


async def submit(request: Request) -> Response:
    context = context_of(request)
    ref = f"{request.path_params['owner']}/{request.path_params['app']}"
    spec = find_model(ref, "fal")
    if spec is None:
        return fal_wire.error_response(404, f"Application {ref!r} not found.", None)
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return fal_wire.error_response(422, _validation_detail(ValueError("invalid JSON")))
    if not isinstance(body, dict):
        return fal_wire.error_response(422, _validation_detail(ValueError("not an object")))
    webhook = request.query_params.get("fal_webhook")
    if webhook is not None and urlsplit(webhook).scheme not in ("http", "https"):
        return fal_wire.error_response(400, "fal_webhook must be an http(s) URL.", None)
    try:
        prediction = context.submitter.submit(Submission(spec, body, webhook_url=webhook))
    except InputRejectedError as exc:
        return fal_wire.error_response(422, _validation_detail(exc.error))
    except SubmitThrottledError as exc:
        return fal_wire.error_response(
            429,
            "Rate limit exceeded: too many requests, try again shortly.",
            "rate_limited",
            headers={"Retry-After": str(exc.retry_after_seconds)},
        )
    now = context.clock.now()
    return JSONResponse(fal_wire.submit_json(prediction, context.settings.fal_public_base_url, now))


def _lookup(request: Request) -> tuple[SandboxContext, Prediction | None]:
    context = context_of(request)
    prediction = context.find(request.path_params["request_id"], "fal")
    app = f"{request.path_params['owner']}/{request.path_params['app']}"
    if prediction is not None and fal_wire.app_path(prediction.model) != app:
        prediction = None
    return context, prediction


def _not_found(request: Request) -> Response:
    return fal_wire.error_response(
        404, f"Request {request.path_params['request_id']} not found.", None
    )


def _poll_failure(prediction: Prediction) -> Response | None:
    """Fault ``server_error_poll``: first a 503 from the "runner" (JSON with
    ``x-fal-request-id``: the client raises), then a 503 nginx page (the client retries)."""
    prediction.activity.poll += 1
    poll = prediction.activity.poll
    if poll > prediction.plan.poll_failures:
        return None
    log.info("prediction.poll_failed", prediction_id=prediction.id, poll=poll)
    if poll == 1:
        return fal_wire.error_response(
            503, "Runner disconnected.", "runner_disconnected", request_id=prediction.id
        )
    return HTMLResponse(HTML_ERROR_PAGE, status_code=503)


async def status(request: Request) -> Response:
    context, prediction = _lookup(request)
    if prediction is None:
        return _not_found(request)
    failure = _poll_failure(prediction)
    if failure is not None:
        return failure
    with_logs = request.query_params.get("logs", "0").lower() in ("1", "true", "yes")
    code, body = fal_wire.status_json(
        prediction,
        context.settings.fal_public_base_url,
        now=context.clock.now(),
        with_logs=with_logs,
    )
    return JSONResponse(body, status_code=code, headers={"x-fal-request-id": prediction.id})


async def result(request: Request) -> Response:
    context, prediction = _lookup(request)
    if prediction is None:
        return _not_found(request)
    prediction.activity.result += 1
    if not prediction.is_terminal:
        return fal_wire.error_response(400, "Request is still in progress.", None)
    output = fal_wire.result_json(prediction, context.outputs)
    if output is not None:
        # like fal: what the request is billed, in the model's price unit
        return JSONResponse(
            output,
            headers={
                "x-fal-request-id": prediction.id,
                fal_wire.BILLABLE_UNITS_HEADER: fal_wire.billable_units(output, prediction),
            },
        )
    if prediction.data_removed:
        return _not_found(request)
    detail = fal_wire.input_error_detail(prediction)
    if detail is not None:
        return fal_wire.error_response(
            fal_wire.INPUT_ERROR_STATUS,
            detail,
            request_id=prediction.id,
            headers={"X-Fal-Retryable": "false"},
        )
    error, error_type = fal_wire.failure_of(prediction) or ("No result.", "internal_server_error")
    code = 400 if error_type == fal_wire.CANCELED_ERROR_TYPE else 500
    return fal_wire.error_response(
        code, error, error_type, request_id=prediction.id, headers={"X-Fal-Retryable": "false"}
    )


async def cancel(request: Request) -> Response:
    """Queued or running → 202 ``CANCELLATION_REQUESTED``; ended (or, with ``cancel_race``,
    ended by this very cancel) → 400 ``ALREADY_COMPLETED``; unknown → 404 ``NOT_FOUND``."""
    context, prediction = _lookup(request)
    if prediction is None:
        return JSONResponse({"status": "NOT_FOUND"}, status_code=404)
    prediction.activity.cancel += 1
    if not prediction.is_terminal and await context.runner.cancel(prediction):
        return JSONResponse({"status": "CANCELLATION_REQUESTED"}, status_code=202)
    return JSONResponse({"status": "ALREADY_COMPLETED"}, status_code=400)


async def jwks(request: Request) -> Response:
    return JSONResponse(context_of(request).keys.jwks())


async def healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


routes = [
    Route("/.well-known/jwks.json", jwks, methods=["GET"]),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/{owner}/{app}/requests/{request_id}/status", status, methods=["GET"]),
    Route("/{owner}/{app}/requests/{request_id}/cancel", cancel, methods=["PUT"]),
    Route("/{owner}/{app}/requests/{request_id}", result, methods=["GET"]),
    Route("/{owner}/{app}", submit, methods=["POST"]),
    Route("/{owner}/{app}/{path:path}", submit, methods=["POST"]),
]
