"""Two gateway processes on one database race the same ``Idempotency-Key``: exactly one job.

One backend: PostgreSQL with TEST_DATABASE_URL, else SQLite (``process_database_url``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support.nats import NatsServer
from tests.support.processes import ServiceProcess

API_KEY = "rh_idempotency-race-bootstrap-key"
BODY = {"model": "sandbox/text-to-video", "input": {"prompt": "one fox only"}}
REQUESTS_PER_GATEWAY = 8
READY_SECONDS = 60.0


def start_gateway(
    start_service: Callable[..., ServiceProcess],
    *,
    name: str,
    database_url: str,
    nats_url: str,
    tmp_path: Path,
) -> str:
    port_file = tmp_path / f"{name}.port"
    service = start_service(
        "gateway",
        {
            "REELHOUSE_DATABASE_URL": database_url,
            "REELHOUSE_NATS__URL": nats_url,
            "REELHOUSE_SIGNING__KEYS": '{"k1": "race-secret"}',
            "REELHOUSE_BOOTSTRAP_API_KEY": API_KEY,
            "REELHOUSE_HTTP__PORT": "0",
            "REELHOUSE_HTTP__PORT_FILE": str(port_file),
            "REELHOUSE_LOG__JSON": "true",
        },
    )
    port = service.wait_port_file(port_file, timeout=READY_SECONDS)
    base_url = f"http://127.0.0.1:{port}"
    service.wait_ready(f"{base_url}/readyz", timeout=READY_SECONDS)
    return base_url


async def test_two_gateways_racing_one_key_make_exactly_one_job(
    start_service: Callable[..., ServiceProcess],
    process_database_url: str,
    nats_server: NatsServer,
    tmp_path: Path,
) -> None:
    gateways = []
    for name in ("a", "b"):  # one after the other: each migrates the database at start
        gateways.append(
            await asyncio.to_thread(
                start_gateway,
                start_service,
                name=name,
                database_url=process_database_url,
                nats_url=nats_server.url,
                tmp_path=tmp_path,
            )
        )
    headers = {"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": "race-1"}

    async with httpx.AsyncClient(timeout=30.0) as client:
        responses = await asyncio.gather(
            *(
                client.post(f"{base_url}/v1/generations", json=BODY, headers=headers)
                for _ in range(REQUESTS_PER_GATEWAY)
                for base_url in gateways
            )
        )
        listing = await client.get(f"{gateways[0]}/v1/generations", headers=headers)

    statuses = sorted({r.status_code for r in responses})
    assert set(statuses) <= {202, 409}, [r.text for r in responses]
    accepted = [r for r in responses if r.status_code == 202]
    fresh = [r for r in accepted if "idempotent-replayed" not in r.headers]
    assert len(fresh) == 1
    assert {r.json()["id"] for r in accepted} == {fresh[0].json()["id"]}
    for refused in (r for r in responses if r.status_code == 409):
        assert refused.json()["code"] == "idempotency_key_in_flight"
    assert [job["id"] for job in listing.json()["data"]] == [fresh[0].json()["id"]]
