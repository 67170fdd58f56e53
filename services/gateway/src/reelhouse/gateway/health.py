"""``/healthz``: readiness — the database answers and NATS is connected."""

from __future__ import annotations

import asyncio
from typing import Literal

import structlog
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from reelhouse.gateway.dependencies import Services, ServicesDep

log = structlog.get_logger(__name__)

CHECK_TIMEOUT_SECONDS = 2.0

router = APIRouter(tags=["operations"])

CheckState = Literal["ok", "unavailable"]


class Health(BaseModel):
    status: CheckState
    checks: dict[str, CheckState]


async def _database_ok(services: Services) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), services.sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        log.warning("health.database_unavailable", error=repr(exc))
        return False
    return True


@router.get(
    "/healthz",
    response_model=Health,
    summary="Readiness: database and NATS",
    responses={503: {"model": Health, "description": "A dependency is unavailable"}},
)
async def healthz(services: ServicesDep) -> JSONResponse:
    checks: dict[str, CheckState] = {
        "database": "ok" if await _database_ok(services) else "unavailable",
        "nats": "ok" if services.bus.connected else "unavailable",
    }
    healthy = all(state == "ok" for state in checks.values())
    report = Health(status="ok" if healthy else "unavailable", checks=checks)
    return JSONResponse(report.model_dump(), status_code=200 if healthy else 503)
