"""A real sandbox server (uvicorn on a free port, in a background thread) and official clients."""

from __future__ import annotations

import contextlib
import json
import os
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from replicate.client import Client
from replicate.prediction import Prediction

from reelhouse.sandbox.app import build_app
from reelhouse.sandbox.settings import SandboxHttpSettings, Settings
from reelhouse.sandbox.tls import CA_FILE
from tests.support.ports import free_ports

STARTUP_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0
DRIVER_TIMEOUT = 90.0
TOKEN = "r8_sandbox"
FAL_KEY = "sandbox-key-id:sandbox-key-secret"
ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class RunningSandbox:
    url: str
    settings: Settings

    @property
    def fal_url(self) -> str:
        return self.settings.fal_public_base_url

    @property
    def fal_host(self) -> str:
        """``127.0.0.1:<port>``: what ``FAL_RUN_HOST``/``FAL_QUEUE_RUN_HOST`` take."""
        return f"127.0.0.1:{self.settings.fal_port}"

    @property
    def ca_file(self) -> Path:
        return self.settings.data_dir / CA_FILE

    def trusting_ca(self) -> ssl.SSLContext:
        """An SSL context that trusts the sandbox's private CA (``ca.pem``)."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def control(self, prediction_id: str) -> dict[str, Any]:
        """``GET /_sandbox/predictions/{id}``: what the provider saw of one prediction."""
        response = httpx.get(f"{self.url}/_sandbox/predictions/{prediction_id}", timeout=30)
        response.raise_for_status()
        found: dict[str, Any] = response.json()
        return found

    def fal(self, *steps: dict[str, Any], mode: str = "async") -> list[Any]:
        """Run ``steps`` with the official ``fal_client`` in a fresh process pointed here."""
        env = {
            **os.environ,
            "FAL_KEY": FAL_KEY,
            "FAL_RUN_HOST": self.fal_host,
            "FAL_QUEUE_RUN_HOST": self.fal_host,
            "SSL_CERT_FILE": str(self.ca_file),
            "NO_PROXY": "127.0.0.1,localhost",
        }
        done = subprocess.run(
            [sys.executable, "-m", "tests.integration.sandbox.fal_driver"],
            input=json.dumps({"mode": mode, "steps": list(steps)}),
            capture_output=True,
            text=True,
            timeout=DRIVER_TIMEOUT,
            cwd=ROOT,
            env=env,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-4000:]
        report = json.loads(done.stdout)
        # nothing may ever reach the real fal.ai
        assert report["queue_url_format"] == f"https://{self.fal_host}/"
        outcomes: list[Any] = report["outcomes"]
        return outcomes


def sandbox_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a sandbox on two free ports (Replicate/files over HTTP, fal over HTTPS)."""
    http_port, fal_port = free_ports(2)
    values: dict[str, Any] = {
        "http": SandboxHttpSettings(port=http_port),
        "public_base_url": f"http://127.0.0.1:{http_port}",
        "fal_port": fal_port,
        "fal_public_base_url": f"https://127.0.0.1:{fal_port}",
        "data_dir": data_dir,
        "queue_seconds": 0.2,
        "render_seconds": 0.2,
        "webhook_timeout_seconds": 5.0,
        "webhook_attempts": 3,
    }
    return Settings(**{**values, **overrides})


@contextlib.contextmanager
def serve(settings: Settings) -> Iterator[None]:
    """``build_app(settings)`` in uvicorn on ``settings.http.port`` (a background thread; the
    app's lifespan adds the fal listener on ``settings.fal_port``) until the block ends.

    Leaving the block shuts the server down gracefully (its lifespan ends), as Ctrl-C would.
    """
    config = uvicorn.Config(
        build_app(settings),
        host="127.0.0.1",
        port=settings.http.port,
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
    settings = sandbox_settings(tmp_path_factory.mktemp("sandbox"))
    with serve(settings):
        yield RunningSandbox(url=settings.public_base_url, settings=settings)


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


def wait_finished(client: Client, prediction_id: str) -> Prediction:
    """Poll (bounded) until the prediction is terminal."""
    for _ in range(1500):
        prediction = client.predictions.get(prediction_id)
        if prediction.status in ("succeeded", "failed", "canceled"):
            return prediction
        time.sleep(0.02)
    raise AssertionError(f"{prediction_id} did not finish")
