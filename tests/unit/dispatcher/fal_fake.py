"""An in-memory fal queue, as the official fal-client 1.0.3 sees it (through httpx.MockTransport).

Requests are scripted: ``statuses[request_id]`` is the list of status bodies to answer, one
per poll (the last one repeats); ``results[request_id]`` is the result (status code, body).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx


@dataclass
class FakeFal:
    base_url: str = "https://fal-queue.test"
    key: str = "fal-key"
    submits: list[dict[str, Any]] = field(default_factory=list)
    statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    results: dict[str, tuple[int, Any]] = field(default_factory=dict)
    cancel_answers: dict[str, tuple[int, str]] = field(default_factory=dict)
    submit_failures: list[tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    cancels: list[str] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.hosts.append(request.url.host)
        if request.headers.get("authorization") != f"Key {self.key}":
            return httpx.Response(401, json={"detail": "bad key"})
        parts = request.url.path.strip("/").split("/")
        if request.method == "POST":
            return self._submit(request, app="/".join(parts[:2]))
        request_id = parts[3] if len(parts) > 3 else ""
        if request.method == "GET" and parts[-1] == "status":
            script = self.statuses[request_id]
            body = script.pop(0) if len(script) > 1 else script[0]
            code = 200 if body.get("status") == "COMPLETED" else 202
            return httpx.Response(code, json={"request_id": request_id, **body})
        if request.method == "GET":
            code, result = self.results[request_id]
            return httpx.Response(code, json=result)
        if request.method == "PUT" and parts[-1] == "cancel":
            self.cancels.append(request_id)
            code, answer = self.cancel_answers.get(request_id, (202, "CANCELLATION_REQUESTED"))
            return httpx.Response(code, json={"status": answer})
        return httpx.Response(404, json={"detail": "not found"})

    def _submit(self, request: httpx.Request, *, app: str) -> httpx.Response:
        if self.submit_failures:
            code, body, headers = self.submit_failures.pop(0)
            return httpx.Response(code, json=body, headers=headers)
        request_id = f"req-{len(self.submits) + 1}"
        query = parse_qs(request.url.query.decode())
        self.submits.append(
            {
                "app": app,
                "input": json.loads(request.content),
                "webhook": query.get("fal_webhook", [None])[0],
            }
        )
        self.statuses.setdefault(request_id, [{"status": "IN_QUEUE", "queue_position": 0}])
        base = f"{self.base_url}/{app}/requests/{request_id}"
        return httpx.Response(
            200,
            json={
                "request_id": request_id,
                "response_url": base,
                "status_url": f"{base}/status",
                "cancel_url": f"{base}/cancel",
                "status": "IN_QUEUE",
                "queue_position": 0,
            },
        )
