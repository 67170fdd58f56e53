"""The whole system as `make run` starts it: ``python -m reelhouse.embedded`` on free ports."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.ports import free_port
from tests.support.processes import ServiceProcess, ServiceRunner

START_TIMEOUT = 120.0


@dataclass
class EmbeddedSystem:
    runner: ServiceRunner
    data_dir: Path
    env: dict[str, str]
    gateway: str
    media: str
    sandbox: str
    dispatcher: str
    downloader: str
    assembler: str
    process: ServiceProcess | None = None

    @property
    def launcher(self) -> ServiceProcess:
        assert self.process is not None, "the system was never started"
        return self.process

    def part_pids(self) -> dict[str, int]:
        """The current pid of every part, from the launcher's ``embedded.started`` lines."""
        return {r["part"]: r["pid"] for r in self.launcher.records("embedded.started")}

    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self.env['REELHOUSE_EMBEDDED__NATS_PORT']}"

    @property
    def api_key(self) -> str:
        return (self.data_dir / "dev-api-key").read_text().strip()

    def start(self) -> None:
        self.process = self.runner.start(
            "embedded",
            self.env,
            ready_url=f"{self.gateway}/healthz",
            ready_timeout=START_TIMEOUT,
        )

    def stop(self) -> int | None:
        assert self.process is not None
        return self.process.terminate(timeout=30.0)

    def provider_view(self, request_id: str) -> dict[str, Any]:
        """What the sandbox saw of one prediction (its control endpoint)."""
        response = httpx.get(f"{self.sandbox}/_sandbox/predictions/{request_id}", timeout=10.0)
        assert response.status_code == 200, response.text
        view: dict[str, Any] = response.json()
        return view

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.gateway,
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=10.0,
        )


def embedded_system(runner: ServiceRunner, data_dir: Path) -> EmbeddedSystem:
    names = (
        "nats",
        "gateway",
        "media",
        "dispatcher",
        "downloader",
        "assembler",
        "sandbox",
        "sandbox_fal",
    )
    ports = {name: free_port() for name in names}
    env = {
        "REELHOUSE_EMBEDDED__DATA_DIR": str(data_dir),
        **{f"REELHOUSE_EMBEDDED__{name.upper()}_PORT": str(port) for name, port in ports.items()},
        "REELHOUSE_LOG__JSON": "true",
    }
    return EmbeddedSystem(
        runner=runner,
        data_dir=data_dir,
        env=env,
        gateway=f"http://127.0.0.1:{ports['gateway']}",
        media=f"http://127.0.0.1:{ports['media']}",
        sandbox=f"http://127.0.0.1:{ports['sandbox']}",
        dispatcher=f"http://127.0.0.1:{ports['dispatcher']}",
        downloader=f"http://127.0.0.1:{ports['downloader']}",
        assembler=f"http://127.0.0.1:{ports['assembler']}",
    )


@contextmanager
def running_system(
    tmp_path_factory: pytest.TempPathFactory, **env: str
) -> Iterator[EmbeddedSystem]:
    """``make run`` on free ports (``env`` added to its environment), stopped afterwards."""
    runner = ServiceRunner(tmp_path_factory.mktemp("e2e-logs"))
    running = embedded_system(runner, tmp_path_factory.mktemp("reelhouse-data"))
    running.env.update(env)
    try:
        running.start()
        yield running
    except Exception:
        print(runner.report())
        raise
    finally:
        runner.stop_all()


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSystem]:
    """One running system shared by a module's tests (start-up costs seconds)."""
    with running_system(tmp_path_factory) as running:
        yield running
