"""What ``bench/submit.py`` loads: the floor app and the real gateway, each its own process.

Everything listens on 127.0.0.1 on free ports; the PostgreSQL database is created for the
run and dropped after it; each gateway gets a NATS server of its own (a fresh stream).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.databases import create_postgres_database, drop_postgres_database
from tests.support.nats import NatsServer
from tests.support.ports import free_port
from tests.support.processes import ServiceProcess

API_KEY = "rh_bench-submit-bootstrap-key"
READY_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Target:
    """A running endpoint under test: its name, submit URL and process id (for CPU time)."""

    name: str
    url: str
    pid: int


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A fresh database on the server (SQLAlchemy URL, same driver), dropped afterwards."""
    url = asyncio.run(create_postgres_database(server_url))
    try:
        yield url
    finally:
        asyncio.run(drop_postgres_database(server_url, url))


def asyncpg_dsn(url: str) -> str:
    """``postgresql+asyncpg://…`` → ``postgresql://…``."""
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


@contextmanager
def floor_app(database_url: str, workdir: Path) -> Iterator[Target]:
    """``python -m bench.submit_floor`` on ``database_url``."""
    port = free_port()
    process = ServiceProcess(
        "floor",
        {},
        workdir / "floor.log",
        module="bench.submit_floor",
        args=("--port", str(port), "--dsn", asyncpg_dsn(database_url)),
    )
    process.start()
    try:
        process.wait_ready(f"http://127.0.0.1:{port}/healthz", timeout=READY_SECONDS)
        yield Target("floor", f"http://127.0.0.1:{port}/v1/generations", process.pid or 0)
    finally:
        process.terminate(timeout=10)


def gateway_env(database_url: str, nats_url: str, port: int) -> dict[str, str]:
    """The gateway's whole configuration here. No ``REELHOUSE_LIMITS__*`` and no
    ``REELHOUSE_COSTS__*``: submit rate, active-job limit and budgets are all off (their
    defaults), so nothing refuses a submit for being one too many."""
    return {
        "REELHOUSE_DATABASE_URL": database_url,
        "REELHOUSE_NATS__URL": nats_url,
        "REELHOUSE_SIGNING__KEYS": json.dumps({"k1": "bench-submit-secret"}),
        "REELHOUSE_BOOTSTRAP_API_KEY": API_KEY,
        "REELHOUSE_HTTP__HOST": "127.0.0.1",
        "REELHOUSE_HTTP__PORT": str(port),
        # what a deployment writes (stderr is not a terminal there either)
        "REELHOUSE_LOG__JSON": "true",
    }


@contextmanager
def gateway(name: str, database_url: str, workdir: Path) -> Iterator[Target]:
    """``python -m reelhouse.gateway`` on ``database_url`` with a NATS server of its own."""
    nats_server = NatsServer(workdir / f"nats-{name}")
    nats_server.start()
    port = free_port()
    process = ServiceProcess(
        "gateway", gateway_env(database_url, nats_server.url, port), workdir / f"{name}.log"
    )
    try:
        process.start()
        process.wait_ready(f"http://127.0.0.1:{port}/readyz", timeout=READY_SECONDS)
        process.wait_logged("nats.connected", timeout=READY_SECONDS)
        yield Target(name, f"http://127.0.0.1:{port}/v1/generations", process.pid or 0)
    finally:
        process.terminate(timeout=10)
        nats_server.stop()
