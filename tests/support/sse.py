"""Reading server-sent events in tests with httpx-sse (an independent parser), plus raw lines."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import EventSource


@dataclass(frozen=True)
class Received:
    id: str
    event: str
    data: dict[str, Any]
    retry: int | None


async def read_all(response: httpx.Response) -> list[Received]:
    """Every event of a stream that ends by itself (a finished job's); the ``retry:`` hint
    (a frame of its own) is carried on the events after it."""
    assert response.headers["content-type"].startswith("text/event-stream"), response.text
    received: list[Received] = []
    retry: int | None = None
    async for sse in EventSource(response).aiter_sse():
        retry = sse.retry if sse.retry is not None else retry
        if sse.data:
            received.append(
                Received(id=sse.id, event=sse.event, data=json.loads(sse.data), retry=retry)
            )
    return received
