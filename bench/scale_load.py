"""The load of ``bench/scale.py``: submits through the gateway, then waits for ``succeeded``.

Submits go out from one httpx async client with a bounded number in flight (and, with a
rate, no faster than it); every request and every wait has a bound. Progress is read from
the gateway's database (the projector's ``succeeded`` events), never from the services'
logs.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import asyncpg
import httpx

from bench.scale_system import MODEL
from bench.submit_targets import API_KEY, asyncpg_dsn

REQUEST_TIMEOUT = 30.0
POLL_SECONDS = 0.1


@dataclass(slots=True)
class Submitted:
    """What the submits got: the accepted job ids, refused statuses, and the wall-clock span."""

    job_ids: list[str] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)
    first_at: float = 0.0
    last_at: float = 0.0

    @property
    def seconds(self) -> float:
        return self.last_at - self.first_at


def body(index: int) -> dict[str, object]:
    return {"model": MODEL, "input": {"prompt": f"bench-scale job {index}"}}


async def submit(
    gateway_url: str, *, jobs: int, concurrency: int, rate: float | None, offset: int = 0
) -> Submitted:
    """``jobs`` submits, at most ``concurrency`` in flight, at most ``rate`` per second."""
    result = Submitted()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(jobs):
        queue.put_nowait(offset + index)
    start = time.time()
    result.first_at = start
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=gateway_url,
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=REQUEST_TIMEOUT,
        limits=limits,
    ) as client:

        async def worker() -> None:
            while not queue.empty():
                index = queue.get_nowait()
                if rate:
                    # the n-th submit leaves no earlier than n / rate after the first
                    await asyncio.sleep(max(0.0, start + (index - offset) / rate - time.time()))
                try:
                    response = await client.post("/v1/generations", json=body(index))
                except httpx.HTTPError as exc:
                    result.refused[type(exc).__name__] += 1
                    continue
                if response.status_code == 202:
                    result.job_ids.append(response.json()["id"])
                else:
                    result.refused[str(response.status_code)] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.last_at = time.time()
    return result


async def succeeded_count(connection: asyncpg.Connection, job_ids: list[str]) -> int:
    count = await connection.fetchval(
        "SELECT count(*) FROM jobs WHERE status = 'succeeded' AND id = ANY($1::text[])", job_ids
    )
    return int(count)


async def wait_succeeded(
    database_url: str, job_ids: list[str], *, stall_seconds: float, bound_seconds: float
) -> int:
    """Poll until every job succeeded, nothing moved for ``stall_seconds``, or ``bound_seconds``;
    the number that succeeded."""
    connection = await asyncpg.connect(asyncpg_dsn(database_url), timeout=10)
    try:
        deadline = time.monotonic() + bound_seconds
        done, moved_at = -1, time.monotonic()
        while True:
            now_done = await succeeded_count(connection, job_ids)
            now = time.monotonic()
            if now_done != done:
                done, moved_at = now_done, now
            if done >= len(job_ids) or now - moved_at > stall_seconds or now > deadline:
                return done
            await asyncio.sleep(POLL_SECONDS)
    finally:
        await connection.close()
