"""A real sandbox server (uvicorn on a free port, in a background thread) and official clients."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from replicate.client import Client

from reelhouse.sandbox.app import build_app
from reelhouse.sandbox.settings import Settings
from tests.support.ports import free_port

STARTUP_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0
TOKEN = "r8_sandbox"


@dataclass(frozen=True)
class RunningSandbox:
    url: str
    settings: Settings


@contextlib.contextmanager
def serve(settings: Settings, port: int) -> Iterator[None]:
    """``build_app(settings)`` in uvicorn on ``port`` (a background thread) until the block ends.

    Leaving the block shuts the server down gracefully (its lifespan ends), as Ctrl-C would.
    """
    config = uvicorn.Config(
        build_app(settings),
        host="127.0.0.1",
        port=port,
        log_config=None,
        ws="none",
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="sandbox-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            pytest.fail("the sandbox server did not start")
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=STOP_TIMEOUT)
        if thread.is_alive():
            pytest.fail("the sandbox server did not stop")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(
        public_base_url=url,
        data_dir=tmp_path_factory.mktemp("sandbox"),
        queue_seconds=0.2,
        render_seconds=0.2,
    )
    with serve(settings, port):
        yield RunningSandbox(url=url, settings=settings)


@pytest.fixture
def client(sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    """The official client, unmodified, pointed at the sandbox (polling every 50 ms)."""
    monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.05")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    official = Client(api_token=TOKEN, base_url=sandbox.url)
    yield official
    # the client has no close(); its lazily built httpx client would otherwise leak a socket
    official._client.close()


@pytest.fixture
def http(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    """A plain HTTP client with the token, for what the official client hides."""
    with httpx.Client(
        base_url=sandbox.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    ) as plain:
        yield plain
