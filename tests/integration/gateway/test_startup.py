"""Start-up: migrations match the models, the gateway serves even without NATS, a bad catalogue stops it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
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
        # ready all the same: the outbox keeps what it accepts until NATS is back
        starting = await gateway.client.get("/readyz")
        assert starting.status_code == 200
        assert starting.json()["checks"] == {"database": "ok", "nats": "unavailable"}
        job = await gateway.submit("accepted without a broker")
        assert job["status"] == "queued"

        nats_server.start()

        async def published() -> bool | None:
            messages = await messages_on(nats_server.url, GenerationRequested.subject)
            return True if messages else None

        await eventually(published, what="the job accepted before NATS came up")
        [message] = await messages_on(nats_server.url, GenerationRequested.subject)
        assert (message.headers or {})["Nats-Msg-Id"] == f"{job['id']}:requested"

        async def broker_reported() -> bool | None:
            body = (await gateway.client.get("/readyz")).json()
            return True if body["checks"]["nats"] == "ok" else None

        await eventually(broker_reported, what="readyz to report NATS back")


def test_a_broken_operator_catalogue_stops_start_up_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "our-models.json"
    broken.write_text('{"models": [{"id": "acme/x", "kind": "text-to-audio"}]}', encoding="utf-8")
    env = {
        **os.environ,
        "REELHOUSE_CATALOG_PATHS": json.dumps([str(broken)]),
        "REELHOUSE_SIGNING__KEYS": '{"k1": "secret"}',
        "REELHOUSE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'never.db'}",
        "REELHOUSE_LOG__JSON": "true",
    }

    result = subprocess.run(
        [sys.executable, "-m", "reelhouse.gateway"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert str(broken) in last_line
    assert "models.0.kind" in last_line
    assert not (tmp_path / "never.db").exists()
