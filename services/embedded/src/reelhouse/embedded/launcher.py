"""What the embedded launcher runs, in which order, and how it knows each part is ready."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import nats
import structlog
from nats.errors import Error as NatsError
from nats.js.errors import Error as JetStreamError

from reelhouse.common.settings import NatsSettings
from reelhouse.common.streams import ensure_stream
from reelhouse.embedded.children import ChildSpec
from reelhouse.embedded.environment import ROLES, Addresses, Layout, merged, role_environment
from reelhouse.embedded.natsserver import nats_server_argv, nats_server_binary
from reelhouse.embedded.readiness import http_ok, jetstream_ok, port_in_use
from reelhouse.embedded.secrets import EmbeddedSecrets
from reelhouse.embedded.settings import EmbeddedOptions

log = structlog.get_logger(__name__)


class LauncherError(Exception):
    """The embedded system cannot start; the message says why and what to change."""


def nats_plan(options: EmbeddedOptions, base_env: Mapping[str, str]) -> ChildSpec:
    layout = Layout(options.data_dir.resolve())
    argv = nats_server_argv(
        host=options.host,
        port=options.nats_port,
        store_dir=layout.nats,
        binary=nats_server_binary(),
    )
    url = Addresses(options.host, options).nats_url
    return ChildSpec("nats", argv, dict(base_env), jetstream_ok(url), tier=0)


def service_plans(
    options: EmbeddedOptions,
    secrets: EmbeddedSecrets,
    *,
    log_level: str,
    base_env: Mapping[str, str],
) -> list[ChildSpec]:
    addresses = Addresses(options.host, options)
    # every part says itself when it is ready: the workers once their consumers are bound
    # and JetStream answers, the gateway once its database does (GET /readyz)
    base_urls = {
        "sandbox": addresses.sandbox,
        "media": addresses.media,
        "gateway": addresses.gateway,
        "dispatcher": addresses.dispatcher,
        "downloader": addresses.downloader,
        "assembler": addresses.assembler,
    }
    return [
        ChildSpec(
            role,
            [sys.executable, "-m", f"reelhouse.{role}"],
            merged(
                base_env,
                role_environment(role, options=options, secrets=secrets, log_level=log_level),
            ),
            http_ok(base_urls[role] + "/readyz"),
            # the sandbox first: it makes the CA and webhook keys the dispatcher reads at start
            tier=1 if role == "sandbox" else 2,
        )
        for role in ROLES
    ]


def check_ports_free(options: EmbeddedOptions) -> None:
    """Fail early, naming the variable to change, when a port the system needs is taken."""
    wanted = {
        "NATS_PORT": options.nats_port,
        "SANDBOX_PORT": options.sandbox_port,
        "SANDBOX_FAL_PORT": options.sandbox_fal_port,
        "DISPATCHER_PORT": options.dispatcher_port,
        "DOWNLOADER_PORT": options.downloader_port,
        "ASSEMBLER_PORT": options.assembler_port,
        "MEDIA_PORT": options.media_port,
        "GATEWAY_PORT": options.gateway_port,
    }
    taken = [
        f"{options.host}:{port} (REELHOUSE_EMBEDDED__{name})"
        for name, port in wanted.items()
        if port_in_use(options.host, port)
    ]
    if taken:
        raise LauncherError(
            "ports already in use: "
            + ", ".join(taken)
            + "; stop what listens there or choose other ports with those variables"
        )


@contextmanager
def data_dir_lock(layout: Layout) -> Iterator[None]:
    """One launcher per data directory: two would share a NATS store and a SQLite file."""
    layout.root.mkdir(parents=True, exist_ok=True)
    fd = os.open(layout.lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LauncherError(
                f"another embedded reelhouse is running on {layout.root}"
                " (set REELHOUSE_EMBEDDED__DATA_DIR to run a second one elsewhere)"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


async def prepare_stream(url: str, settings: NatsSettings) -> None:
    """Create the stream once before the services start, so they do not race to create it."""
    try:
        nc = await nats.connect(url, connect_timeout=5, allow_reconnect=False)
        try:
            await asyncio.wait_for(ensure_stream(nc.jetstream(), settings), timeout=10)
        finally:
            await nc.close()
    except (TimeoutError, NatsError, JetStreamError) as exc:
        raise LauncherError(f"could not set up stream {settings.stream} on {url}: {exc!r}") from exc


def ensure_dirs(layout: Layout) -> None:
    # a new data directory is private: it holds the secrets and the database
    layout.root.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path in (layout.nats, layout.objects, layout.sandbox):
        path.mkdir(parents=True, exist_ok=True)
