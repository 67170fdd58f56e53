"""Start-up: migrations match the models, and the gateway serves even without NATS."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from reelhouse.common.events import GenerationRequested
from reelhouse.gateway.db.models import Base
from reelhouse.gateway.settings import Settings
from tests.integration.gateway.harness import Gateway, eventually, messages_on, running_gateway
from tests.support.nats import NatsServer


def _schema_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_create_exactly_the_modelled_schema(gateway: Gateway) -> None:
    async with gateway.services.engine.connect() as connection:
        diff = await connection.run_sync(_schema_diff)

    assert diff == []


async def test_starts_and_accepts_jobs_when_nats_is_down_then_catches_up(
    settings: Settings, nats_server: NatsServer
) -> None:
    nats_server.stop()
    quick = settings.model_copy(update={"nats_start_timeout_seconds": 0.2})

    async with running_gateway(quick) as gateway:
        assert (await gateway.client.get("/healthz")).status_code == 503
        job = await gateway.submit("accepted without a broker")
        assert job["status"] == "queued"

        nats_server.start()

        async def published() -> bool | None:
            messages = await messages_on(nats_server.url, GenerationRequested.subject)
            return True if messages else None

        await eventually(published, what="the job accepted before NATS came up")
        [message] = await messages_on(nats_server.url, GenerationRequested.subject)
        assert (message.headers or {})["Nats-Msg-Id"] == f"{job['id']}:requested"

        async def ready() -> bool | None:
            return True if (await gateway.client.get("/healthz")).status_code == 200 else None

        await eventually(ready, what="healthz to turn ready")
