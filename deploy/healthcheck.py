"""The images' health check: ``python /app/healthcheck.py [PATH]`` (default ``/readyz``).

Exits 0 when the service in this container answers 2xx on PATH. The port is the one the
service really bound: read from ``REELHOUSE_HTTP__PORT_FILE`` when set (replicas started with
``REELHOUSE_HTTP__PORT=0`` under host networking), else ``REELHOUSE_HTTP__PORT``, else the
role's default. Standard library only, so it runs in every image.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

DEFAULT_PORTS = {
    "gateway": 8000,
    "media": 8001,
    "dispatcher": 8002,
    "downloader": 8003,
    "assembler": 8004,
    "sandbox": 8010,
}


def bound_port() -> int:
    port_file = os.environ.get("REELHOUSE_HTTP__PORT_FILE")
    if port_file:
        return int(Path(port_file).read_text().strip())
    configured = os.environ.get("REELHOUSE_HTTP__PORT")
    if configured:
        return int(configured)
    return DEFAULT_PORTS[os.environ["SERVICE"]]


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "/readyz"
    try:
        url = f"http://127.0.0.1:{bound_port()}{path}"
        with urllib.request.urlopen(url, timeout=3) as response:
            return 0 if 200 <= response.status < 300 else 1
    except (OSError, ValueError, KeyError, urllib.error.URLError) as exc:
        sys.stderr.write(f"unhealthy: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
