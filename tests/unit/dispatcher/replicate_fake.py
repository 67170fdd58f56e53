"""An in-memory Replicate prediction API, as the official 1.0.7 client sees it.

Used through ``httpx.MockTransport`` in unit tests and served over HTTP (Starlette)
in integration tests. Input controls follow the sandbox's: ``sandbox_delay``
(seconds until the prediction finishes; without it the status only changes through
``set_state``) and ``sandbox_fault="model_error"``.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

FINAL = {"succeeded", "failed", "canceled", "aborted"}
MODEL_ERROR = "sandbox: the model ran out of imagination"


@dataclass
class _Canned:
    status: int
    body: Any
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeReplicate:
    base_url: str = "http://replicate.test"
    token: str | None = "test-token"
    clock: Callable[[], float] = time.monotonic
    predictions: dict[str, dict[str, Any]] = field(default_factory=dict)
    created_at: dict[str, float] = field(default_factory=dict)
    create_requests: list[dict[str, Any]] = field(default_factory=list)
    cancels: list[str] = field(default_factory=list)
    gets: int = 0
    faults_served: int = 0
    webhook_secret: str = "whsec_" + "c2VjcmV0LWZvci10ZXN0cy0xMjM0NTY3ODkwYWJjZGVm"
    secret_fetches: int = 0
    _faults: dict[str, deque[_Canned]] = field(default_factory=dict)

    # ---- test controls

    def fail_next(
        self,
        action: str,
        status: int,
        body: Any = None,
        *,
        times: int = 1,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``action`` (create, get, cancel) with this."""
        if body is None:
            body = {"title": "Fake error", "status": status, "detail": f"fake {status}"}
        queue = self._faults.setdefault(action, deque())
        queue.extend(_Canned(status, body, content_type, dict(headers or {})) for _ in range(times))

    def set_state(self, prediction_id: str, **fields: Any) -> None:
        self.predictions[prediction_id].update(fields)

    # ---- the protocol

    def handle(self, request: httpx.Request) -> httpx.Response:
        if (
            self.token is not None
            and request.headers.get("authorization") != f"Bearer {self.token}"
        ):
            return _json(
                401, {"title": "Unauthenticated", "detail": "Invalid token.", "status": 401}
            )
        parts = request.url.path.strip("/").split("/")
        method = request.method
        if method == "POST" and parts[:2] == ["v1", "models"] and parts[-1:] == ["predictions"]:
            return self._serve("create", lambda: self._create(request, model="/".join(parts[2:4])))
        if method == "POST" and parts == ["v1", "predictions"]:
            return self._serve("create", lambda: self._create(request, model=None))
        if method == "GET" and parts == ["v1", "webhooks", "default", "secret"]:
            self.secret_fetches += 1
            return _json(200, {"key": self.webhook_secret})
        if method == "GET" and parts == ["v1", "predictions"]:
            return _json(200, {"previous": None, "next": None, "results": self._list()})
        if len(parts) >= 3 and parts[:2] == ["v1", "predictions"] and parts[2] in self.predictions:
            pid = parts[2]
            if method == "GET" and len(parts) == 3:
                self.gets += 1
                return self._serve("get", lambda: _json(200, self._advance(pid)))
            if method == "POST" and parts[3:] == ["cancel"]:
                return self._serve("cancel", lambda: _json(200, self._cancel(pid)))
        return _json(404, {"title": "Not found", "detail": "Not found.", "status": 404})

    def _serve(self, action: str, ok: Callable[[], httpx.Response]) -> httpx.Response:
        queue = self._faults.get(action)
        if queue:
            canned = queue.popleft()
            self.faults_served += 1
            content = canned.body if isinstance(canned.body, str) else json.dumps(canned.body)
            return httpx.Response(
                canned.status,
                content=content,
                headers={"content-type": canned.content_type, **canned.headers},
            )
        return ok()

    def _create(self, request: httpx.Request, *, model: str | None) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        self.create_requests.append(
            {"path": request.url.path, "cancel_after": request.headers.get("cancel-after"), **body}
        )
        pid = f"fake{len(self.predictions) + 1:04d}"
        self.predictions[pid] = {
            "id": pid,
            "model": model or "someone/something",
            "version": body.get("version", "hidden"),
            "status": "starting",
            "input": body.get("input", {}),
            "output": None,
            "error": None,
            "logs": "",
            "metrics": {},
            "created_at": "2025-01-01T00:00:00Z",
            "started_at": None,
            "completed_at": None,
            "urls": {
                "get": f"{self.base_url}/v1/predictions/{pid}",
                "cancel": f"{self.base_url}/v1/predictions/{pid}/cancel",
            },
        }
        self.created_at[pid] = self.clock()
        return _json(201, self.predictions[pid])

    def _advance(self, pid: str) -> dict[str, Any]:
        prediction = self.predictions[pid]
        delay = prediction["input"].get("sandbox_delay")
        if prediction["status"] in FINAL or delay is None:
            return prediction
        if self.clock() - self.created_at[pid] < float(delay):
            prediction.update(status="processing", logs="rendering frames\n")
        elif prediction["input"].get("sandbox_fault") == "model_error":
            prediction.update(status="failed", error=MODEL_ERROR)
        else:
            prediction.update(status="succeeded", output=[f"{self.base_url}/files/{pid}.mp4"])
        return prediction

    def _cancel(self, pid: str) -> dict[str, Any]:
        self.cancels.append(pid)
        prediction = self.predictions[pid]
        if prediction["status"] not in FINAL:
            prediction["status"] = "canceled"
        return prediction

    def _list(self) -> list[dict[str, Any]]:
        return list(reversed(self.predictions.values()))


def _json(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body)
