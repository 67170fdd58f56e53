"""Liveness and readiness, the same on every service.

- ``/livez``: the process is alive and its event loop answers (no dependency is asked);
- ``/readyz``: every required check passes within a bound, else 503 with a body naming the
  failed check — ``{"status": "unavailable", "checks": {"nats": "unavailable", …}}``;
  a check that is not required (the gateway's NATS) is reported but never makes it 503;
- ``/healthz``: an alias of ``/readyz``;
- ``/metrics``: Prometheus text format.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from reelhouse.common.metrics import metrics_endpoint

log = structlog.get_logger(__name__)

# bound on one check: a dependency that does not answer in time is unavailable
CHECK_TIMEOUT_SECONDS = 2.0

CheckState = Literal["ok", "unavailable"]
# raises (or times out) when the dependency is unavailable
Probe = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    probe: Probe
    # False: reported in the body, but the service stays ready without it
    required: bool = True


@dataclass(frozen=True, slots=True)
class Report:
    ready: bool
    checks: dict[str, CheckState]

    def body(self) -> dict[str, Any]:
        return {"status": "ok" if self.ready else "unavailable", "checks": self.checks}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=200 if self.ready else 503)


async def _passes(check: Check, bound: float) -> bool:
    try:
        async with asyncio.timeout(bound):
            await check.probe()
    except Exception as exc:
        log.warning("health.check_failed", check=check.name, error=repr(exc))
        return False
    return True


async def run_checks(checks: Sequence[Check], *, bound: float = CHECK_TIMEOUT_SECONDS) -> Report:
    """Run every check at once, each bounded by ``bound`` seconds."""
    results = await asyncio.gather(*(_passes(check, bound) for check in checks))
    states: dict[str, CheckState] = {
        check.name: "ok" if passed else "unavailable"
        for check, passed in zip(checks, results, strict=True)
    }
    ready = all(passed for check, passed in zip(checks, results, strict=True) if check.required)
    return Report(ready=ready, checks=states)


@dataclass
class Readiness:
    """The checks of a service; set once its lifespan has built the clients they ask."""

    checks: list[Check] | None = None
    timeout: float = CHECK_TIMEOUT_SECONDS

    def set(self, checks: Sequence[Check]) -> None:
        self.checks = list(checks)

    def clear(self) -> None:
        """Shutting down: not ready any more (a load balancer should stop sending work)."""
        self.checks = None

    async def report(self) -> Report:
        if self.checks is None:
            return Report(ready=False, checks={"started": "unavailable"})
        return await run_checks(self.checks, bound=self.timeout)


async def livez(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def health_routes(readiness: Readiness) -> list[BaseRoute]:
    """``/livez``, ``/readyz``, ``/healthz`` and ``/metrics`` for a Starlette app."""

    async def readyz(request: Request) -> JSONResponse:
        return (await readiness.report()).response()

    return [
        Route("/livez", livez, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/healthz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]
