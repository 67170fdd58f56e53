"""Probes for orchestrators, and the metrics.

- ``/livez``: the process and its event loop answer (restart the gateway when this fails);
- ``/readyz``: the database answers within a bound. NATS is reported (``checks.nats``) but
  never makes the gateway unready: accepted jobs wait in the outbox while the broker is away,
  so a load balancer must keep sending traffic. The broker's state is also the gauge
  ``reelhouse_broker_up{service="gateway"}``, measured by a bounded JetStream round trip;
- ``/healthz``: an alias of ``/readyz``;
- ``/metrics``: Prometheus text format.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import text

from reelhouse.common.health import Check, livez, run_checks
from reelhouse.common.metrics import metrics_endpoint
from reelhouse.gateway.dependencies import Services, ServicesDep

router = APIRouter(tags=["operations"])

CheckState = Literal["ok", "unavailable"]


class Health(BaseModel):
    status: CheckState
    checks: dict[str, CheckState]


class Alive(BaseModel):
    status: Literal["ok"]


def _database(services: Services) -> Check:
    async def probe() -> None:
        async with services.sessions() as session:
            await session.execute(text("SELECT 1"))

    return Check("database", probe)


async def _readiness(services: ServicesDep) -> JSONResponse:
    checks = [_database(services), services.watch.check(required=False)]
    return (await run_checks(checks)).response()


READINESS_DOC = {
    "response_model": Health,
    "responses": {503: {"model": Health, "description": "The database is unavailable"}},
    "description": (
        "200 while the database answers (within 2 s). `checks.nats` reports whether NATS "
        "JetStream answered a bounded round trip; while it does not, the gateway stays ready "
        "and accepted jobs wait in the outbox."
    ),
}


@router.get("/livez", response_model=Alive, summary="Liveness: the process answers")
async def live(request: Request) -> JSONResponse:
    return await livez(request)


@router.get("/readyz", summary="Readiness: the database answers", **READINESS_DOC)  # type: ignore[arg-type]
async def readyz(services: ServicesDep) -> JSONResponse:
    return await _readiness(services)


@router.get("/healthz", summary="Readiness (alias of /readyz)", **READINESS_DOC)  # type: ignore[arg-type]
async def healthz(services: ServicesDep) -> JSONResponse:
    return await _readiness(services)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Every metric of ours starts with `reelhouse_` (text exposition format 0.0.4).",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    return await metrics_endpoint(request)
