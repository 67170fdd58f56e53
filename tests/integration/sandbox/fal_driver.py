"""Drives the official, unmodified ``fal_client`` against the sandbox, in a process of its own.

``fal_client`` reads ``FAL_RUN_HOST``/``FAL_QUEUE_RUN_HOST`` once, when it is imported, so
each run gets a fresh interpreter whose environment points it at one sandbox (and
``SSL_CERT_FILE`` at the sandbox's CA). The test sends a list of steps as JSON on stdin;
the driver runs them in order with ``AsyncClient`` or ``SyncClient`` and prints one JSON
document: the outcome of every step (a value, or the error the client raised).

Steps (``op`` and its fields):
- ``submit``: ``app``, ``arguments``, ``webhook_url`` (optional) → request id and URLs
- ``status``: ``with_logs`` → the parsed status of the last submitted request
- ``poll``: ``until`` (status names), ``max_polls``, ``with_logs`` → every status seen
  (a poll that raised is recorded and polling goes on)
- ``result`` / ``cancel``: on the last submitted request
- ``status_by_id`` / ``result_by_id`` / ``cancel_by_id``: ``app``, ``request_id`` (the
  client's by-id helpers, which build URLs from ``FAL_QUEUE_RUN_HOST``)
- ``subscribe``: ``app``, ``arguments``, ``with_logs`` → result and queue updates
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import asdict
from typing import Any

import fal_client
from fal_client.client import FalClientHTTPError, Status

POLL_INTERVAL = 0.05
Step = dict[str, Any]


def status_json(status: Status) -> dict[str, Any]:
    return {"status": type(status).__name__, **asdict(status)}


def error_json(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, FalClientHTTPError):
        try:
            body: Any = exc.response.json()
        except ValueError:
            body = exc.response.text
        return {
            "error": "FalClientHTTPError",
            "status_code": exc.status_code,
            "message": str(exc.message),
            "error_type": exc.error_type,
            "body": body,
            "headers": {k.lower(): v for k, v in exc.response_headers.items()},
        }
    return {"error": type(exc).__name__, "message": str(exc)}


class AsyncDriver:
    def __init__(self) -> None:
        self.client = fal_client.AsyncClient()
        self.handle: fal_client.AsyncRequestHandle | None = None

    async def run(self, step: Step) -> Any:
        op = step["op"]
        if op == "submit":
            self.handle = await self.client.submit(
                step["app"], step["arguments"], webhook_url=step.get("webhook_url")
            )
            return {"request_id": self.handle.request_id, **_urls(self.handle)}
        if op == "subscribe":
            updates: list[dict[str, Any]] = []
            result = await self.client.subscribe(
                step["app"],
                step["arguments"],
                with_logs=step.get("with_logs", False),
                on_queue_update=lambda s: updates.append(status_json(s)),
            )
            return {"result": result, "updates": updates}
        if op == "status_by_id":
            status = await self.client.status(step["app"], step["request_id"], with_logs=True)
            return status_json(status)
        if op == "result_by_id":
            return await self.client.result(step["app"], step["request_id"])
        if op == "cancel_by_id":
            await self.client.cancel(step["app"], step["request_id"])
            return "ok"
        handle = self.handle
        assert handle is not None, "submit first"
        if op == "status":
            return status_json(await handle.status(with_logs=step.get("with_logs", False)))
        if op == "poll":
            seen: list[dict[str, Any]] = []
            for _ in range(step.get("max_polls", 400)):
                try:
                    seen.append(status_json(await handle.status(with_logs=step["with_logs"])))
                except Exception as exc:
                    seen.append(error_json(exc))
                if seen[-1].get("status") in step["until"]:
                    break
                await asyncio.sleep(POLL_INTERVAL)
            return seen
        if op == "result":
            return await handle.get()
        if op == "cancel":
            await handle.cancel()
            return "ok"
        raise ValueError(f"unknown op {op!r}")


class SyncDriver:
    def __init__(self) -> None:
        self.client = fal_client.SyncClient()
        self.handle: fal_client.SyncRequestHandle | None = None

    def run(self, step: Step) -> Any:
        op = step["op"]
        if op == "submit":
            self.handle = self.client.submit(
                step["app"], step["arguments"], webhook_url=step.get("webhook_url")
            )
            return {"request_id": self.handle.request_id, **_urls(self.handle)}
        if op == "subscribe":
            updates: list[dict[str, Any]] = []
            result = self.client.subscribe(
                step["app"],
                step["arguments"],
                with_logs=step.get("with_logs", False),
                on_queue_update=lambda s: updates.append(status_json(s)),
            )
            return {"result": result, "updates": updates}
        handle = self.handle
        assert handle is not None, "submit first"
        if op == "poll":
            seen: list[dict[str, Any]] = []
            for _ in range(step.get("max_polls", 400)):
                try:
                    seen.append(status_json(handle.status(with_logs=step["with_logs"])))
                except Exception as exc:
                    seen.append(error_json(exc))
                if seen[-1].get("status") in step["until"]:
                    break
                time.sleep(POLL_INTERVAL)
            return seen
        if op == "result":
            return handle.get()
        if op == "cancel":
            handle.cancel()
            return "ok"
        raise ValueError(f"unknown op {op!r}")


def _urls(handle: fal_client.AsyncRequestHandle | fal_client.SyncRequestHandle) -> dict[str, str]:
    return {
        "response_url": handle.response_url,
        "status_url": handle.status_url,
        "cancel_url": handle.cancel_url,
    }


async def run_async(steps: list[Step]) -> list[Any]:
    driver = AsyncDriver()
    outcomes: list[Any] = []
    for step in steps:
        try:
            outcomes.append({"ok": await driver.run(step)})
        except Exception as exc:
            outcomes.append(error_json(exc))
    return outcomes


def run_sync(steps: list[Step]) -> list[Any]:
    driver = SyncDriver()
    outcomes: list[Any] = []
    for step in steps:
        try:
            outcomes.append({"ok": driver.run(step)})
        except Exception as exc:
            outcomes.append(error_json(exc))
    return outcomes


def main() -> None:
    request = json.loads(sys.stdin.read())
    steps: list[Step] = request["steps"]
    if request.get("mode", "async") == "sync":
        outcomes = run_sync(steps)
    else:
        outcomes = asyncio.run(run_async(steps))
    report = {"queue_url_format": fal_client.client.QUEUE_URL_FORMAT, "outcomes": outcomes}
    sys.stdout.write(json.dumps(report))


if __name__ == "__main__":
    main()
