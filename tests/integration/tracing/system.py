"""Every service of the job pipeline in this process, each under its own tracer provider.

Gateway (FastAPI through ``httpx.ASGITransport``), dispatcher and sandbox (uvicorn on free
ports), downloader (FastStream app) over one real nats-server, local object storage and
SQLite or PostgreSQL. With tracing on, the four providers export into one
``InMemorySpanExporter``, so a test sees every service's spans side by side, told apart
by their ``service.name``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from faststream import TestApp
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from reelhouse.common.settings import NatsSettings, StorageSettings, TracingSettings
from reelhouse.common.tracing import configure_tracing
from reelhouse.dispatcher.app import build_app as build_dispatcher
from reelhouse.downloader.app import build_app as build_downloader
from reelhouse.downloader.settings import Settings as DownloaderSettings
from reelhouse.sandbox.app import build_app as build_sandbox
from reelhouse.sandbox.settings import Settings as SandboxSettings
from tests.integration.dispatcher.conftest import dispatcher_settings, serving
from tests.integration.gateway.harness import Gateway, gateway_settings, running_gateway
from tests.support.ports import free_port

ROLES = ("gateway", "dispatcher", "sandbox", "downloader")


@dataclass
class System:
    gateway: Gateway
    storage_root: Path
    exporter: InMemorySpanExporter | None


@asynccontextmanager
async def running_system(
    *, nats_url: str, database_url: str, data_dir: Path, tracing: TracingSettings
) -> AsyncIterator[System]:
    """The pipeline; ``tracing.enabled`` decides whether the services record spans at all.

    Enabled, every service gets a provider exporting to one in-memory exporter. Disabled,
    each service makes its own from ``tracing`` (that is, none), exactly as in production.
    """
    exporter = InMemorySpanExporter() if tracing.enabled else None

    def provider(role: str) -> TracerProvider | None:
        if exporter is None:
            return None
        return configure_tracing(tracing, service=role, exporter=exporter)

    sandbox_port, fal_port = free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    sandbox = SandboxSettings(
        public_base_url=sandbox_url,
        fal_port=fal_port,
        fal_public_base_url=f"https://127.0.0.1:{fal_port}",
        data_dir=data_dir / "sandbox",
        queue_seconds=0.1,
        render_seconds=0.2,
        tracing=tracing,
    )
    dispatcher = dispatcher_settings(nats_url, sandbox_url, tracing=tracing)
    storage_root = data_dir / "objects"
    downloader = DownloaderSettings(
        nats=NatsSettings(url=nats_url),
        storage=StorageSettings(backend="local", local_root=storage_root),
        allow_loopback=True,
        allowed_schemes=["http", "https"],
        temp_dir=data_dir / "downloads",
        tracing=tracing,
    )
    gateway = gateway_settings(database_url=database_url, nats_url=nats_url).model_copy(
        update={"tracing": tracing}
    )
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(
            serving(build_sandbox(sandbox, tracer_provider=provider("sandbox")), sandbox_port)
        )
        await stack.enter_async_context(
            serving(
                build_dispatcher(dispatcher, tracer_provider=provider("dispatcher")),
                dispatcher.http.port,
            )
        )
        await stack.enter_async_context(
            TestApp(build_downloader(downloader, tracer_provider=provider("downloader")))
        )
        running = await stack.enter_async_context(
            running_gateway(gateway, tracer_provider=provider("gateway"))
        )
        yield System(gateway=running, storage_root=storage_root, exporter=exporter)
