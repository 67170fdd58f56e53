"""The system in containers, as an operator runs it: the project's engine script, images built
from ``deploy/Dockerfile``, ``compose.yaml`` with this machine's override.

Every ``docker``/``docker compose`` call is bounded in time. testcontainers' ``DockerCompose``
reads the stack back (containers per service, logs); its own commands get a time limit too.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from testcontainers.compose import DockerCompose

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "deploy" / "local" / "engine.sh"
COMPOSE_FILES = ["compose.yaml", "deploy/compose/local.yaml"]

ENGINE_START_TIMEOUT = 900.0  # apt-get install + debootstrap + plugins, cold
BUILD_TIMEOUT = 1200.0
UP_WAIT_SECONDS = 300
COMMAND_TIMEOUT = 120.0
# what docker and compose need of the test process's environment
HOST_VARIABLES = ("PATH", "HOME", "LANG", "TMPDIR")
# the replicas the tier runs: enough to see work spread and to lose one
SCALE = {"downloader": 3, "dispatcher": 2}
S3_INTERNAL_PORTS = 7
# ports for the stack are picked from here up to the ephemeral range
QUIET_PORTS_FROM = (
    20000  # SeaweedFS's master, volume, filer and gRPC ports after LOCAL_S3_PORT_BASE
)


T = TypeVar("T")


class EngineUnavailableError(RuntimeError):
    """No Docker engine here and none could be started; the message says why."""


def run(
    args: list[str], *, timeout: float, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
        )
    return result


@dataclass
class Engine:
    """``deploy/local/engine.sh``: started here only when it was not already running."""

    env: dict[str, str] = field(default_factory=dict)
    started_here: bool = False
    stopped_here: bool = False

    def start(self) -> None:
        if run([str(ENGINE), "status"], timeout=COMMAND_TIMEOUT, check=False).returncode != 0:
            if os.geteuid() != 0:
                raise EngineUnavailableError(
                    "no Docker engine is running and starting one needs root: "
                    f"run `sudo {ENGINE.relative_to(ROOT)} start` first"
                )
            self.started_here = True
        started = run([str(ENGINE), "start"], timeout=ENGINE_START_TIMEOUT, check=False)
        if started.returncode != 0:
            raise EngineUnavailableError(
                f"{ENGINE.relative_to(ROOT)} start failed:\n{started.stderr[-4000:]}"
            )
        exports = run([str(ENGINE), "env"], timeout=COMMAND_TIMEOUT).stdout
        for line in exports.splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            self.env[name] = value

    def docker_env(self) -> dict[str, str]:
        """What docker commands run with: the engine's socket and plugins, and none of this
        process's other variables (compose would let them override its env file)."""
        kept = {name: os.environ[name] for name in HOST_VARIABLES if name in os.environ}
        return {**kept, **self.env}

    def stop(self) -> None:
        """Stop the engine (by its pid, mounts cleaned) if this session started it."""
        if self.started_here:
            run([str(ENGINE), "stop"], timeout=COMMAND_TIMEOUT)
            self.started_here = False
            self.stopped_here = True


class BoundedCompose(DockerCompose):
    """testcontainers' compose driver with a time limit on every command it runs, talking to
    our engine (``process_env``: DOCKER_HOST, DOCKER_CONFIG)."""

    process_env: dict[str, str] | None = None

    def _run_command(
        self, cmd: str | list[str], context: str | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            cmd,
            capture_output=True,
            check=True,
            cwd=context or str(self.context),
            env=self.process_env,
            timeout=COMMAND_TIMEOUT,
        )


def ephemeral_ports_start() -> int:
    """Where the kernel's ephemeral port range starts (outgoing connections, ``bind(0)``)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def quiet_port_block(size: int, taken: set[int]) -> int:
    """The first of ``size`` consecutive loopback ports that are free now, chosen below the
    ephemeral range: no outgoing connection and no other test's ``bind(0)`` will take them
    in the moment between choosing and the containers binding them."""
    high = ephemeral_ports_start() - size
    for _ in range(500):
        base = random.randrange(QUIET_PORTS_FROM, high)
        block = range(base, base + size)
        if taken.intersection(block):
            continue
        socks: list[socket.socket] = []
        try:
            for port in block:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
            taken.update(block)
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError(f"no {size} consecutive free ports found below {high + size}")


@dataclass
class Stack:
    """One compose project on free ports, with throwaway secrets in its own env file."""

    workdir: Path
    engine: Engine
    project: str = field(default_factory=lambda: f"reelhouse-test-{secrets.token_hex(3)}")
    api_key: str = field(default_factory=lambda: "rh_test_" + secrets.token_hex(16))
    s3_access_key: str = "reelhouse"
    s3_secret_key: str = field(default_factory=lambda: secrets.token_hex(16))
    bucket: str = "reelhouse"
    ports: dict[str, int] = field(default_factory=dict)
    stopped: bool = False

    def __post_init__(self) -> None:
        self.env_file = self.workdir / "compose.env"
        self.generated = {
            "POSTGRES_PASSWORD": secrets.token_hex(16),
            "REELHOUSE_SIGNING__KEYS": "'" + json.dumps({"k1": secrets.token_hex(32)}) + "'",
        }
        self.write_env_file()
        self.compose = BoundedCompose(
            context=str(ROOT), compose_file_name=COMPOSE_FILES, env_file=str(self.env_file)
        )
        self.compose.process_env = self.env

    def write_env_file(self) -> None:
        """Secrets, and ports free right now (chosen again just before the containers start)."""
        # every port the override takes from a variable (deploy/compose/local.yaml)
        names = (
            "GATEWAY_PORT",
            "MEDIA_PORT",
            "LOCAL_NATS_PORT",
            "LOCAL_NATS_MONITOR_PORT",
            "LOCAL_POSTGRES_PORT",
            "LOCAL_S3_PORT",
            "LOCAL_SANDBOX_PORT",
            "LOCAL_SANDBOX_FAL_PORT",
        )
        taken: set[int] = set()
        self.ports = {name: quiet_port_block(1, taken) for name in names}
        self.ports["LOCAL_S3_PORT_BASE"] = quiet_port_block(S3_INTERNAL_PORTS, taken)
        lines = {
            "COMPOSE_PROJECT_NAME": self.project,
            "COMPOSE_PROFILES": "sandbox",
            "MINIO_ROOT_USER": self.s3_access_key,
            "MINIO_ROOT_PASSWORD": self.s3_secret_key,
            "REELHOUSE_BOOTSTRAP_API_KEY": self.api_key,
            **self.generated,
            **{name: str(port) for name, port in self.ports.items()},
        }
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in lines.items()))

    @property
    def env(self) -> dict[str, str]:
        return self.engine.docker_env()

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.ports['GATEWAY_PORT']}"

    @property
    def s3_endpoint(self) -> str:
        return f"127.0.0.1:{self.ports['LOCAL_S3_PORT']}"

    def docker(self, *args: str, timeout: float = COMMAND_TIMEOUT) -> str:
        return run(["docker", *args], timeout=timeout, env=self.env).stdout

    def compose_command(self, *args: str, timeout: float = COMMAND_TIMEOUT) -> str:
        base: list[str] = self.compose.compose_command_property
        return run([*base, *args], timeout=timeout, env=self.env).stdout

    def up(self, *, scale: dict[str, int]) -> None:
        """Build the images and start everything, waiting until every service is healthy."""
        self.compose_command("build", timeout=BUILD_TIMEOUT)
        # the build took a while: ports free before it may not be now
        self.write_env_file()
        scaling = [arg for role, n in scale.items() for arg in ("--scale", f"{role}={n}")]
        try:
            self.compose_command(
                "up",
                "--detach",
                "--wait",
                "--wait-timeout",
                str(UP_WAIT_SECONDS),
                *scaling,
                timeout=UP_WAIT_SECONDS + 60,
            )
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            raise RuntimeError(f"{exc}\n{self.diagnosis()}") from exc

    def diagnosis(self) -> str:
        """Every container's state and the end of its log, for a failure message."""
        try:
            states = self.compose_command("ps", "--all")
            logs = self.compose_command("logs", "--no-color", "--tail", "20")
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            return f"(no diagnosis: {exc})"
        return f"{states}\n{logs[-20000:]}"

    def down(self) -> None:
        """Containers, networks and volumes of this project removed (idempotent)."""
        if not self.stopped:
            self.compose_command("down", "--volumes", "--remove-orphans", "--timeout", "10")
            # compose labels the images it builds with the project: last runs' are left untagged
            self.docker("image", "prune", "--force", "--filter", "label=com.docker.compose.project")
            self.stopped = True

    def containers(self, service: str) -> list[Any]:
        """The service's containers (testcontainers' ``ComposeContainer``), running or not."""
        return [c for c in self.compose.get_containers(include_all=True) if c.Service == service]

    def logs(self, container: str) -> list[dict[str, Any]]:
        """A container's structured log lines (JSON), from stdout and stderr."""
        result = run(["docker", "logs", container], timeout=COMMAND_TIMEOUT, env=self.env)
        records: list[dict[str, Any]] = []
        for line in (result.stdout + result.stderr).splitlines():
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return records

    def project_leftovers(self) -> list[str]:
        """Containers and volumes of this project still known to the engine."""
        label = f"label=com.docker.compose.project={self.project}"
        found = self.docker("ps", "--all", "--quiet", "--filter", label).split()
        found += self.docker("volume", "ls", "--quiet", "--filter", label).split()
        return found

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.gateway,
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=10.0,
        )


def first_found(probe: Callable[[], T | None], *, timeout: float) -> T | None:
    """Call ``probe`` until it returns something (returned), or None once ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.1)
    return None
