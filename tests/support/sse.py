"""Reading server-sent events in tests with httpx-sse (an independent parser), plus raw lines."""

from __future__ import annotations

import asyncio
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


class RawStream:
    """An open SSE response read frame by frame with our own bounded reads.

    Comments (``: keep-alive``) are counted — httpx-sse drops them — and every read has
    a time bound, so a stream that stalls fails the test instead of hanging it.
    """

    def __init__(self, response: httpx.Response) -> None:
        assert response.status_code == 200, response.status_code
        assert response.headers["content-type"].startswith("text/event-stream")
        self._lines = response.aiter_lines()
        self.keep_alives = 0
        self.retry: int | None = None
        self.ended = False

    async def _frame(self) -> dict[str, str] | None:
        fields: dict[str, str] = {}
        async for line in self._lines:
            if line == "":
                if fields:
                    return fields
                continue
            if line.startswith(":"):
                if line[1:].strip() == "keep-alive":
                    self.keep_alives += 1
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        self.ended = True
        return None

    async def next_event(self, *, within: float) -> Received | None:
        """The next event, or None once the server closed the stream."""
        async with asyncio.timeout(within):
            while True:
                fields = await self._frame()
                if fields is None:
                    return None
                if "retry" in fields:
                    self.retry = int(fields["retry"])
                if "data" in fields:
                    return Received(
                        id=fields.get("id", ""),
                        event=fields.get("event", "message"),
                        data=json.loads(fields["data"]),
                        retry=self.retry,
                    )

    async def keep_alive(self, *, within: float) -> None:
        """Read until one more keep-alive comment arrives (fails on an event)."""
        seen = self.keep_alives
        async with asyncio.timeout(within):
            while self.keep_alives == seen:
                line = await anext(self._lines)
                if line.startswith(":") and line[1:].strip() == "keep-alive":
                    self.keep_alives += 1
                else:
                    assert not line.startswith("data"), f"unexpected event: {line}"
