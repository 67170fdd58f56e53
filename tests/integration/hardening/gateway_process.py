"""A real gateway process (``python -m reelhouse.gateway``) over real NATS and a database."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tests.support.ports import free_port
from tests.support.processes import ServiceProcess

API_KEY = "rh_hardening-test-key-0123456789"


@dataclass(frozen=True)
class GatewayProcess:
    process: ServiceProcess
    url: str

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {API_KEY}"}


def gateway_env(*, database_url: str, nats_url: str, port: int) -> dict[str, str]:
    return {
        "REELHOUSE_HTTP__HOST": "127.0.0.1",
        "REELHOUSE_HTTP__PORT": str(port),
        "REELHOUSE_DATABASE_URL": database_url,
        "REELHOUSE_NATS__URL": nats_url,
        "REELHOUSE_SIGNING__KEYS": json.dumps({"k1": "hardening-test-signing-secret"}),
        "REELHOUSE_SIGNING__ACTIVE_KEY_ID": "k1",
        "REELHOUSE_MEDIA_BASE_URL": "http://127.0.0.1:9",
        "REELHOUSE_BOOTSTRAP_API_KEY": API_KEY,
        "REELHOUSE_LOG__JSON": "true",
        # uploads land in a directory of their own, never in the working tree
        "REELHOUSE_STORAGE__LOCAL_ROOT": tempfile.mkdtemp(prefix="reelhouse-hardening-objects-"),
    }


def start_gateway(
    start_service: Callable[..., ServiceProcess],
    *,
    database_url: str,
    nats_url: str,
    extra: Mapping[str, str] | None = None,
) -> GatewayProcess:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**gateway_env(database_url=database_url, nats_url=nats_url, port=port), **(extra or {})}
    process = start_service("gateway", env, ready_url=f"{url}/readyz", ready_timeout=60.0)
    return GatewayProcess(process=process, url=url)
