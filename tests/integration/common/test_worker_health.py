"""Workers as orchestrators probe them: a hung broker makes them unready, not dead.

Each worker runs as its own process on an ephemeral HTTP port (``REELHOUSE_HTTP__PORT=0``)
and reports the port in ``REELHOUSE_HTTP__PORT_FILE``. The NATS server is then SIGSTOPped:
its sockets stay open, so the client still believes it is connected, and only a bounded
round trip can tell. ``/readyz`` must turn 503 naming ``nats`` while ``/livez`` stays 200,
and the worker must be ready again once the server is continued.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.nats import NatsServer
from tests.support.processes import ServiceProcess
from tests.support.scrape import scrape, value

WAIT_SECONDS = 30.0


def worker_env(role: str, nats_url: str, tmp_path: Path) -> dict[str, str]:
    env = {
        "REELHOUSE_NATS__URL": nats_url,
        "REELHOUSE_HTTP__PORT": "0",
        "REELHOUSE_HTTP__PORT_FILE": str(tmp_path / f"{role}.port"),
        "REELHOUSE_LOG__JSON": "true",
    }
    if role == "downloader":
        env["REELHOUSE_STORAGE__BACKEND"] = "local"
        env["REELHOUSE_STORAGE__LOCAL_ROOT"] = str(tmp_path / "objects")
        env["REELHOUSE_TEMP_DIR"] = str(tmp_path / "downloads")
    return env


async def readiness_until(
    client: httpx.AsyncClient, url: str, status: int, service: ServiceProcess
) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        response = await client.get(url)
        if response.status_code == status:
            body: dict[str, Any] = response.json()
            return body
        assert service.running, service.log_tail()
        assert time.monotonic() < deadline, f"{url} never answered {status}: {response.text}"
        await asyncio.sleep(0.1)


def listening_events(service: ServiceProcess) -> list[dict[str, Any]]:
    lines = service.log_path.read_text(errors="replace").splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    return [r for r in records if r.get("event") == "http.listening"]


@pytest.mark.parametrize("role", ["dispatcher", "downloader"])
async def test_worker_is_unready_while_the_broker_is_hung_and_ready_again_after(
    role: str,
    nats_server: NatsServer,
    start_service: Callable[..., ServiceProcess],
    tmp_path: Path,
) -> None:
    service = start_service(role, worker_env(role, nats_server.url, tmp_path))
    port = service.wait_port_file(tmp_path / f"{role}.port", timeout=WAIT_SECONDS)
    base = f"http://127.0.0.1:{port}"
    [listening] = listening_events(service)
    assert listening["port"] == port
    # what was alive at start-up is out of the collector's reach (gc.freeze)
    assert listening["gc_frozen"] > 10_000

    async with httpx.AsyncClient(timeout=10.0) as client:
        ready = await readiness_until(client, f"{base}/readyz", 200, service)
        assert ready == {"status": "ok", "checks": {"nats": "ok", "consumers": "ok"}}
        assert (await client.get(f"{base}/healthz")).json() == ready

        nats_server.pause()
        try:
            hung = await readiness_until(client, f"{base}/readyz", 503, service)
            assert hung == {
                "status": "unavailable",
                "checks": {"nats": "unavailable", "consumers": "ok"},
            }
            alive = await client.get(f"{base}/livez")
            assert alive.status_code == 200
            assert value(await scrape(client, base), "reelhouse_broker_up", service=role) == 0
        finally:
            nats_server.resume()

        await readiness_until(client, f"{base}/readyz", 200, service)
        assert value(await scrape(client, base), "reelhouse_broker_up", service=role) == 1

    assert service.terminate(timeout=15) == 0, service.log_tail()
