"""The compose stack seen through the fault drills' eyes (``tests.faults.target.DrillSystem``).

The checks read the stack directly, as they read the process harness: the compose PostgreSQL
and S3 stand-in on the host network, the sandbox's control endpoint, the gateway's API. The
workers' temporary directories live inside their containers (no volume), so ``temp_dirs``
copies each one out with ``docker cp`` and hands the checks the copies: a snapshot taken when
the check runs, of every container the service has, running or not.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import SecretStr

from reelhouse.common.settings import S3Settings
from tests.containers.stack import Stack

# the workers keep partial downloads and assemblies in the image's default temp directory
CONTAINER_TEMP_DIR = "/tmp"
# what deploy/compose/local.yaml puts there for the health check: not work in progress
PORT_FILE = "http-port"
TEMP_WORKERS = ("downloader", "assembler")
GATEWAYS = ("gateway", "gateway-b")


@dataclass
class ComposeTarget:
    """What the drill's batch and checks need, answered by a running compose stack."""

    stack: Stack
    # where the containers' temp directories are copied for the checks
    workdir: Path

    @property
    def database_url(self) -> str:
        password = self.stack.generated["POSTGRES_PASSWORD"]
        port = self.stack.ports["LOCAL_POSTGRES_PORT"]
        return f"postgresql+asyncpg://reelhouse:{password}@127.0.0.1:{port}/reelhouse"

    @property
    def s3(self) -> S3Settings:
        return S3Settings(
            endpoint=self.stack.s3_endpoint,
            access_key=SecretStr(self.stack.s3_access_key),
            secret_key=SecretStr(self.stack.s3_secret_key),
            bucket=self.stack.bucket,
        )

    @property
    def sandbox(self) -> str:
        return f"http://127.0.0.1:{self.stack.ports['LOCAL_SANDBOX_PORT']}"

    def client(self, role: str = "gateway") -> httpx.Client:
        """The compose gateway for either gateway role (compose runs one; the drills' second
        gateway is the same service here)."""
        assert role in GATEWAYS, f"compose has no {role!r} to talk to"
        client = self.stack.client()
        client.timeout = httpx.Timeout(15.0)
        return client

    def temp_dirs(self) -> list[Path]:
        """A fresh copy of each worker container's temp directory, the health check's port
        file left out."""
        copies: list[Path] = []
        for service in TEMP_WORKERS:
            for container in self.stack.containers(service):
                copy = self.workdir / "temp" / container.Name
                shutil.rmtree(copy, ignore_errors=True)
                copy.mkdir(parents=True)
                self.stack.docker("cp", f"{container.Name}:{CONTAINER_TEMP_DIR}/.", str(copy))
                (copy / PORT_FILE).unlink(missing_ok=True)
                copies.append(copy)
        return copies

    # -- the containers ------------------------------------------------------------------
    def inspect(self, container: str, template: str) -> str:
        return self.stack.docker("inspect", "--format", template, container).strip()

    def restarts(self, container: str) -> int:
        return int(self.inspect(container, "{{.RestartCount}}"))

    def ensure_running(self, service: str, *, timeout: float) -> list[str]:
        """Start whatever container of ``service`` is stopped (as an operator does after a
        ``docker kill``) and wait until all are healthy; their names."""
        self.stack.compose_command("start", service)
        names = [c.Name for c in self.stack.containers(service)]
        deadline = time.monotonic() + timeout
        states: list[str] = []
        while time.monotonic() < deadline:
            states = [self.inspect(n, "{{.State.Status}} {{.State.Health.Status}}") for n in names]
            if all(state == "running healthy" for state in states):
                return names
            time.sleep(0.2)
        raise AssertionError(f"{service} not all healthy within {timeout:.0f}s: {states}")

    def wait_healthy(self, container: str, *, restarted_from: int, timeout: float) -> float:
        """Until ``container`` has been restarted and is healthy again; the monotonic time."""
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            state = self.inspect(
                container, "{{.RestartCount}} {{.State.Status}} {{.State.Health.Status}}"
            )
            count, status, health = state.split()
            if int(count) > restarted_from and (status, health) == ("running", "healthy"):
                return time.monotonic()
            time.sleep(0.2)
        raise AssertionError(
            f"{container} not restarted and healthy within {timeout:.0f}s of its crash "
            f"(restarts, status, health: {state}):\n{self.stack.diagnosis()}"
        )
