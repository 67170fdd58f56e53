"""The load of ``bench/submit.py``: wrk POSTing one submit body, every response's status counted.

wrk's own ``errors.status`` counts only statuses ≥ 400, so the script counts every status
itself (per wrk thread, summed in ``done``): a run is clean only when all responses are 202.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

_WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = %(body)s
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(key)s"

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

statuses = {}
function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(counts) do
    table.insert(parts, string.format('"%%s": %%d', status, n))
  end
  io.write(string.format('WRK_JSON {"requests": %%d, "micros": %%d, "socket_errors": %%d, ' ..
    '"p50_us": %%d, "p99_us": %%d, "statuses": {%%s}}\\n', summary.requests,
    summary.duration, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, latency:percentile(50), latency:percentile(99),
    table.concat(parts, ", ")))
end
"""


@dataclass(frozen=True, slots=True)
class LoadResult:
    """One wrk run: rates, latency percentiles, every status, and the target's CPU time."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]
    socket_errors: int
    cpu_seconds: float

    @property
    def accepted(self) -> int:
        return self.statuses.get(202, 0)

    @property
    def rejected(self) -> int:
        """Responses that were not 202, plus requests that got no response at all."""
        return sum(n for status, n in self.statuses.items() if status != 202) + self.socket_errors

    @property
    def per_second(self) -> float:
        return self.accepted / self.seconds

    @property
    def cpu_ms_per_accepted(self) -> float:
        return self.cpu_seconds * 1e3 / self.accepted if self.accepted else float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (its own threads, not children)."""
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def wrk_post(
    url: str, *, body: dict[str, object], api_key: str, connections: int, seconds: int, pid: int
) -> LoadResult:
    """POST ``body`` to ``url`` with wrk for ``seconds`` over ``connections`` keep-alive
    connections (2 threads); ``pid``'s CPU time is measured over the same window."""
    script_text = _WRK_SCRIPT % {"body": _lua_string(json.dumps(body)), "key": api_key}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(script_text)
    try:
        before = cpu_seconds(pid)
        result = subprocess.run(
            [
                *(
                    "wrk",
                    f"-t{min(2, connections)}",
                    f"-c{connections}",
                    f"-d{seconds}s",
                    "--timeout",
                    "10s",
                ),
                *("-s", script.name, url),
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
        )
        used = cpu_seconds(pid) - before
    finally:
        Path(script.name).unlink()
    match = re.search(r"WRK_JSON (\{.*\})", result.stdout)
    if result.returncode != 0 or match is None:
        raise RuntimeError(f"wrk printed no summary:\n{result.stdout}\n{result.stderr}")
    summary = json.loads(match.group(1))
    return LoadResult(
        requests=summary["requests"],
        seconds=summary["micros"] / 1e6,
        p50_ms=summary["p50_us"] / 1e3,
        p99_ms=summary["p99_us"] / 1e3,
        statuses={int(status): n for status, n in summary["statuses"].items()},
        socket_errors=summary["socket_errors"],
        cpu_seconds=used,
    )


def _lua_string(text: str) -> str:
    """``text`` as a Lua string literal (long brackets: no escaping inside)."""
    level = "="
    while f"]{level}]" in text:
        level += "="
    return f"[{level}[{text}]{level}]"


def settle(pid: int, *, timeout: float, quiet_cpu_share: float = 0.03) -> float:
    """Wait until ``pid`` is nearly idle (background work such as an outbox backlog done);
    the CPU seconds it used meanwhile. Bounded by ``timeout``."""
    interval = 0.5
    started = last = cpu_seconds(pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(interval)
        now = cpu_seconds(pid)
        if now - last < quiet_cpu_share * interval:
            break
        last = now
    return cpu_seconds(pid) - started
