"""Load generators for ``bench/media.py``: wrk (or aiohttp), raw-socket TTFB, slow viewers.

Every loop here is bounded in time or count and talks to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

MIB = 1024 * 1024

# picks a random MiB-aligned 1 MiB range of the object for every request; reports as JSON
_WRK_SCRIPT = """
local size = %(size)d
local blocks = math.floor(size / 1048576)
math.randomseed(%(seed)d)
local statuses = {}
request = function()
  local first = math.random(0, blocks - 1) * 1048576
  return wrk.format("GET", nil, {Range = "bytes=" .. first .. "-" .. (first + 1048575)})
end
done = function(summary, latency, requests)
  io.write(string.format('WRK_JSON {"bytes": %%d, "requests": %%d, "micros": %%d, ' ..
    '"errors": %%d, "non_2xx": %%d, "p50_us": %%d}\\n', summary.bytes, summary.requests,
    summary.duration, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, summary.errors.status, latency:percentile(50)))
end
"""


@dataclass(frozen=True, slots=True)
class Throughput:
    gbytes_per_s: float
    requests: int
    failures: int
    tool: str


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def throughput(url: str, *, size: int, seconds: float, concurrency: int) -> Throughput:
    """Random 1 MiB range reads of ``url`` for ``seconds`` at ``concurrency``."""
    if wrk_available():
        return _wrk(url, size=size, seconds=seconds, concurrency=concurrency)
    return asyncio.run(_aiohttp_load(url, size=size, seconds=seconds, concurrency=concurrency))


def _wrk(url: str, *, size: int, seconds: float, concurrency: int) -> Throughput:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_SCRIPT % {"size": size, "seed": random.randrange(1 << 30)})
    try:
        result = subprocess.run(
            [
                *("wrk", "-t2", f"-c{concurrency}", f"-d{int(seconds)}s", "--timeout", "10s"),
                *("-s", script.name, url),
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        )
    finally:
        Path(script.name).unlink()
    match = re.search(r"WRK_JSON (\{.*\})", result.stdout)
    if match is None:
        raise RuntimeError(f"wrk printed no summary:\n{result.stdout}\n{result.stderr}")
    summary = json.loads(match.group(1))
    return Throughput(
        gbytes_per_s=summary["bytes"] / (summary["micros"] / 1e6) / 1e9,
        requests=summary["requests"],
        failures=summary["errors"] + summary["non_2xx"],
        tool="wrk",
    )


async def _aiohttp_load(url: str, *, size: int, seconds: float, concurrency: int) -> Throughput:
    blocks = size // MIB
    received = requests = failures = 0
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal received, requests, failures
            while time.monotonic() < deadline:
                first = random.randrange(blocks) * MIB
                headers = {"Range": f"bytes={first}-{first + MIB - 1}"}
                async with session.get(url, headers=headers) as response:
                    body = await response.read()
                requests += 1
                if response.status != 206 or len(body) != MIB:
                    failures += 1
                received += len(body)

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.monotonic() - started
    return Throughput(received / elapsed / 1e9, requests, failures, "aiohttp")


def ttfb_medians(urls: Sequence[str], *, range_header: str, rounds: int) -> list[float]:
    """Median seconds to the first response byte for each URL, requests alternating, keep-alive."""
    clients = [_RawClient(url) for url in urls]
    samples: list[list[float]] = [[] for _ in urls]
    try:
        for _ in range(5):  # warm every path (connections, caches)
            for client in clients:
                client.get(range_header)
        for _ in range(rounds):
            for index, client in enumerate(clients):
                samples[index].append(client.get(range_header))
    finally:
        for client in clients:
            client.close()
    return [statistics.median(s) for s in samples]


class _RawClient:
    """One keep-alive HTTP/1.1 connection; ``get`` returns the time to the first response byte."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.target = parts.path + (f"?{parts.query}" if parts.query else "")
        self.sock = socket.create_connection((self.host, self.port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def get(self, range_header: str) -> float:
        request = (
            f"GET {self.target} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Range: {range_header}\r\n\r\n"
        ).encode()
        started = time.perf_counter()
        self.sock.sendall(request)
        data = self.sock.recv(65536)
        first_byte = time.perf_counter() - started
        while b"\r\n\r\n" not in data:
            data += self._recv()
        head, _, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 206"):
            raise RuntimeError(f"expected 206, got {head[:200]!r}")
        length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
        while len(body) < length:
            body += self._recv()
        return first_byte

    def _recv(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed mid-response")
        return chunk

    def close(self) -> None:
        self.sock.close()


async def slow_viewers(
    url: str, *, viewers: int, bytes_per_second: int, seconds: float
) -> tuple[int, int]:
    """``viewers`` connections each reading the whole object at ``bytes_per_second``.

    Returns (bytes read in all, viewers that got a 200).
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    step = 64 * 1024
    total = ok = 0
    deadline = time.monotonic() + seconds

    async def viewer() -> None:
        nonlocal total, ok
        reader, writer = await asyncio.open_connection(host, port, limit=step)
        try:
            writer.write(f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            ok += head.startswith(b"HTTP/1.1 200")
            while time.monotonic() < deadline:
                chunk = await reader.read(step)
                if not chunk:
                    break
                total += len(chunk)
                await asyncio.sleep(len(chunk) / bytes_per_second)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    await asyncio.gather(*(viewer() for _ in range(viewers)))
    return total, ok
