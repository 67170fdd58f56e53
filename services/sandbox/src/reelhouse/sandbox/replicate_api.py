"""Replicate's HTTP API, the subset the official ``replicate`` 1.0.7 client uses.

Routes are thin: validate, create or look up a prediction, answer with ``wire`` shapes.
Authentication (``Authorization: Bearer <any token>``) is checked by ``BearerTokenMiddleware``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import structlog
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from reelhouse.sandbox.context import SandboxContext, context_of
from reelhouse.sandbox.faults import UnknownFaultError, plan_faults
from reelhouse.sandbox.models import ModelSpec, find_model, find_version, seed_of, with_seed
from reelhouse.sandbox.predictions import Prediction, Status, new_prediction_id
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


def delays(context: SandboxContext, sandbox_delay: float | None) -> tuple[float, float]:
    """``(queue, render)`` seconds; ``sandbox_delay`` replaces their sum, split in halves."""
    if sandbox_delay is None:
        return context.settings.queue_seconds, context.settings.render_seconds
    return sandbox_delay / 2, sandbox_delay / 2


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
    spec = find_model(ref)
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


async def _create(
    request: Request, spec: ModelSpec, body: dict[str, Any], *, version: str
) -> Response:
    context = context_of(request)
    raw_input = body.get("input", {})
    if not isinstance(raw_input, dict):
        return invalid_input(ValueError("input must be a JSON object"))
    try:
        params = with_seed(spec.input_model.model_validate(raw_input))
        plan = plan_faults(params.fault_names(), params.fault_params())
    except (ValidationError, UnknownFaultError) as exc:
        return invalid_input(exc)
    queue_seconds, render_seconds = delays(context, params.sandbox_delay)
    prediction = Prediction(
        id=new_prediction_id(),
        model=spec.ref,
        version=version,
        input=raw_input,
        created_at=context.clock.now(),
        queue_seconds=queue_seconds,
        render_seconds=render_seconds,
        plan=plan,
        seed=seed_of(params),
    )
    context.store.add(prediction)
    context.runner.launch(prediction, spec.build_job(params))
    log.info("prediction.created", prediction_id=prediction.id, model=spec.ref, faults=plan.names)
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
    prediction = context.store.get(prediction_id)
    if prediction is None:
        return context, problem(404, "Not found", f"Prediction {prediction_id} does not exist.")
    return context, prediction


async def get_prediction(request: Request) -> Response:
    context, found = _lookup(request)
    if isinstance(found, Response):
        return found
    return JSONResponse(prediction_json(found, context.settings.public_base_url))


async def cancel_prediction(request: Request) -> Response:
    context, found = _lookup(request)
    if isinstance(found, Response):
        return found
    if found.cancel(context.clock.now()):
        log.info("prediction.cancel_requested", prediction_id=found.id)
    return JSONResponse(prediction_json(found, context.settings.public_base_url))


async def list_predictions(request: Request) -> Response:
    """Newest first, cursor-paginated; ``next`` is an absolute URL the client follows."""
    context = context_of(request)
    try:
        offset = max(0, int(request.query_params.get("cursor", "0")))
        limit = min(PAGE_SIZE, max(1, int(request.query_params.get("page_size", PAGE_SIZE))))
    except ValueError:
        return problem(400, "Invalid cursor", "The pagination cursor is not valid.")
    items, following = context.store.page(offset=offset, limit=limit)
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
    spec = find_model(ref)
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
]
