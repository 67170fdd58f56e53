"""A 200 MB streamed body is refused while it arrives; the gateway's memory does not grow with it."""

from __future__ import annotations

import select
import socket
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from tests.integration.hardening.gateway_process import API_KEY, start_gateway
from tests.support.nats import NatsServer
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.timeout(120)

CHUNK = b" " * 65_536
TOTAL = 200 * 1024 * 1024
# far below the 200 MB sent: the body is not being held
MAX_GROWTH = 40 * 1024 * 1024


def _stream_body(host: str, port: int) -> tuple[bytes, int]:
    """POST a chunked body of up to TOTAL bytes; the answer and how much was sent before it."""
    sent = 0
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/generations HTTP/1.1\r\n"
            + f"Host: {host}\r\nAuthorization: Bearer {API_KEY}\r\n".encode()
            + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        frame = f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n"
        try:
            while sent < TOTAL:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break
                sock.sendall(frame)
                sent += len(CHUNK)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        sock.settimeout(10)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                part = sock.recv(65_536)
                if not part:
                    break
                answer += part
        except (ConnectionResetError, TimeoutError):
            pass
    return answer, sent


def test_a_200_mb_stream_is_refused_without_growing_the_gateway(
    start_service: Callable[..., ServiceProcess], nats_server: NatsServer, tmp_path: Path
) -> None:
    gateway = start_gateway(
        start_service,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gw.db'}",
        nats_url=nats_server.url,
    )
    process = psutil.Process(gateway.pid)
    before = process.memory_info().rss

    answer, sent = _stream_body("127.0.0.1", int(gateway.url.rsplit(":", 1)[1]))

    after = process.memory_info().rss
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"payload_too_large" in answer or b"content-length" in answer.lower()
    assert sent < TOTAL, "the gateway read the whole body"
    assert after - before < MAX_GROWTH, (before, after)
