"""A small webhook receiver on 127.0.0.1 for the tests: records every POST (headers and raw
body) and answers with scripted status codes (200 once the script runs out)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class WebhookReceiver:
    def __init__(self, server: ThreadingHTTPServer) -> None:
        self._server = server
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._answers: list[int] = []

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def answer_next(self, *codes: int) -> None:
        """The status codes of the next requests, in order (then 200 again)."""
        with self._lock:
            self._answers.extend(codes)

    def record(self, received: Received) -> int:
        with self._lock:
            self._received.append(received)
            return self._answers.pop(0) if self._answers else 200

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def wait_for(
        self, condition: Callable[[list[Received]], bool], *, timeout: float = 30.0
    ) -> list[Received]:
        """Wait (bounded) until ``condition`` holds for what was received."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            received = self.received
            if condition(received):
                return received
            time.sleep(0.02)
        raise AssertionError(f"webhooks never matched; received {len(self.received)}")

    def quiet_for(self, seconds: float) -> list[Received]:
        """What was received after ``seconds`` more (to see that nothing else comes)."""
        time.sleep(seconds)
        return self.received


@contextmanager
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver: WebhookReceiver | None = None

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            assert receiver is not None
            code = receiver.record(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = WebhookReceiver(server)
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
