"""A real HTTP webhook receiver on 127.0.0.1 (a thread): records requests, answers as told.

``answers`` is a queue of status codes used one per request; when it is empty the receiver
answers ``default_status``. Requests are kept with their headers and raw body, so tests can
verify signatures with the ``standardwebhooks`` package.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass(frozen=True, slots=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    def __init__(self, *, default_status: int = 200) -> None:
        self.default_status = default_status
        self.answers: deque[int] = deque()
        self._received: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the http.server naming
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    status = (
                        receiver.answers.popleft() if receiver.answers else receiver.default_status
                    )
                    receiver._received.append(
                        Received(
                            path=self.path,
                            headers={k.lower(): v for k, v in self.headers.items()},
                            body=body,
                            answered=status,
                        )
                    )
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:  # stdlib name
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def wait_for(self, count: int, *, timeout: float = 20.0) -> list[Received]:
        """The first ``count`` requests, once they came; fail after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.received
            if len(got) >= count:
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(got)} webhook requests after {timeout}s, not {count}")
            time.sleep(0.05)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
