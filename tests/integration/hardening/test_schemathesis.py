"""Schemathesis against a real gateway process: every operation the OpenAPI lists, all checks.

Stateless (every operation, positive and negative data) and stateful (sequences linked by the
responses), a fixed seed and a bounded number of examples, over a real database and NATS with
an API key. Whatever endpoints the document grows, this covers them.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis.errors import Unsatisfiable
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.core.result import Ok
from schemathesis.generation.case import Case
from schemathesis.generation.modes import GenerationMode
from schemathesis.hooks import HookContext
from schemathesis.schemas import BaseSchema

from reelhouse.gateway.compositions.ids import new_composition_id
from reelhouse.gateway.jobs.cursor import Cursor, encode_cursor
from reelhouse.gateway.jobs.service import new_job_id
from reelhouse.gateway.webhooks.events import WEBHOOK_EVENTS
from tests.integration.hardening.gateway_process import API_KEY, GatewayProcess, start_gateway
from tests.support.databases import postgres_database, postgres_server_url
from tests.support.nats import NatsServer
from tests.support.processes import ServiceRunner

pytestmark = pytest.mark.timeout(600)

AUTH = {"Authorization": f"Bearer {API_KEY}"}
load_all_checks()
# every check schemathesis has, named explicitly rather than left to its defaults
ALL_CHECKS: list[Any] = list(CHECKS.get_all())
SEED = 20261125
CURSOR_MAX_LENGTH = 500
STATELESS = settings(
    max_examples=10,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
STATEFUL = settings(
    max_examples=5,
    stateful_step_count=6,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    """One gateway for the module (PostgreSQL when TEST_DATABASE_URL is set, else SQLite)."""
    nats = NatsServer(tmp_path_factory.mktemp("nats"))
    nats.start()
    runner = ServiceRunner(tmp_path_factory.mktemp("service-logs"))
    try:
        server = postgres_server_url()
        if server is None:
            database = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'api.db'}"
            yield start_gateway(runner.start, database_url=database, nats_url=nats.url)
            return
        yield from _with_postgres(runner, server, nats.url)
    except Exception:
        print(runner.report())
        raise
    finally:
        runner.stop_all()
        nats.kill()


def _with_postgres(runner: ServiceRunner, server: str, nats_url: str) -> Iterator[GatewayProcess]:
    # one loop for both ends: a loop closed in between would finalise (drop) the database
    with asyncio.Runner() as loop:
        context = postgres_database(server)
        database = loop.run(context.__aenter__())
        try:
            yield start_gateway(runner.start, database_url=database, nats_url=nats_url)
        finally:
            runner.stop_all()
            loop.run(context.__aexit__(None, None, None))


# A list cursor is opaque: only the gateway makes valid ones (``next_cursor``), which no
# OpenAPI schema can say. Generated cursors are swapped for one the gateway could have issued
# (any other generated value, negative ones included, is left as it is).
ISSUED_CURSOR = encode_cursor(
    Cursor(created_at=datetime(2026, 1, 1, tzinfo=UTC), job_id=new_job_id())
)


CURSOR_PATHS = ("/v1/generations", "/v1/keys", "/v1/uploads", "/v1/compositions")
# a composition list's cursor holds a composition's id
ISSUED_COMPOSITION_CURSOR = encode_cursor(
    Cursor(created_at=datetime(2026, 1, 1, tzinfo=UTC), job_id=new_composition_id())
)
# ``GET /v1/events`` never ends by itself (every job of the owner, live): there is no response
# to validate. Its own tests (tests/integration/gateway/test_sse*.py) cover it.
ENDLESS = "/v1/events"


def _issued_cursors(context: HookContext, query: dict[str, Any]) -> dict[str, Any]:
    operation = context.operation
    cursor = query.get("cursor") if isinstance(query, dict) else None
    if operation is None or operation.path not in CURSOR_PATHS or not isinstance(cursor, str):
        return query
    if len(cursor) > CURSOR_MAX_LENGTH:
        return query
    issued = ISSUED_COMPOSITION_CURSOR if operation.path == "/v1/compositions" else ISSUED_CURSOR
    return {**query, "cursor": issued}


# ``GET /v1/usage`` takes a range of at most 366 days with ``to`` not before ``from`` (else
# 422), a rule between two parameters no schema can state. Generated dates (any valid
# ``YYYY-MM-DD``) are swapped for this month so far; anything else is left as it is.
USAGE_PATH = "/v1/usage"


def _usage_range(context: HookContext, query: dict[str, Any]) -> dict[str, Any]:
    operation = context.operation
    if operation is None or operation.path != USAGE_PATH or not isinstance(query, dict):
        return query
    today = datetime.now(UTC).date()
    window = {"from": today.replace(day=1), "to": today}
    mapped = dict(query)
    for name, day in window.items():
        value = query.get(name)
        if isinstance(value, str) and _is_date(value):
            mapped[name] = day.isoformat()
    return mapped


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


# A job filter's ``created_before`` must come after its ``created_after`` (else 422), a rule
# between two parameters no schema can state. A generated pair in the wrong order (both valid
# times) loses its ``created_before``; anything else is left as it is.
WINDOW = ("created_after", "created_before")


def _ordered_window(values: Any) -> Any:
    if not isinstance(values, dict):
        return values
    after, before = (_aware_time(values.get(name)) for name in WINDOW)
    if after is None or before is None or after < before:
        return values
    return {name: value for name, value in values.items() if name != "created_before"}


# only what RFC 3339 calls a date-time (a mutated, schema-breaking value is left alone)
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _aware_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or RFC3339.fullmatch(value) is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _ordered_query_window(context: HookContext, query: dict[str, Any]) -> Any:
    return _ordered_window(query)


def _ordered_body_window(context: HookContext, body: Any) -> Any:
    return _ordered_window(body)


# ``webhook_events`` needs a ``webhook_url`` (else 422 ``invalid_webhook_events``), another rule
# between two fields: a body with valid events and no URL loses its events. Events that break
# the schema (a negative case's mutation) are left for the gateway to refuse.
def _events_with_url(context: HookContext, body: Any) -> Any:
    if not isinstance(body, dict) or body.get("webhook_url") is not None:
        return body
    events = body.get("webhook_events")
    if not isinstance(events, list) or not events:
        return body
    if not all(isinstance(name, str) and name in WEBHOOK_EVENTS for name in events):
        return body
    return {name: value for name, value in body.items() if name != "webhook_events"}


# An Idempotency-Key means "this one request": the same key with another body is refused
# (422 ``idempotency_key_reused``) by design, a rule no schema can state. Each generated case
# gets a key of its own (a valid generated key keeps its shape; an invalid one is left as is).
_case_numbers = itertools.count()


def _fresh_idempotency_keys(context: HookContext, headers: dict[str, Any] | None) -> Any:
    if not isinstance(headers, dict):
        return headers
    key = headers.get("Idempotency-Key")
    if not isinstance(key, str) or not key.isascii() or not key.isprintable() or len(key) > 240:
        return headers
    return {**headers, "Idempotency-Key": f"{key}-{next(_case_numbers)}"}


# ``POST /v1/uploads`` takes a `file` that must be a real image or video, which no schema can say
# (`format: binary` is any bytes), so schema-valid data is refused (415/422) by design. Its
# answers are covered by tests/integration/gateway/test_uploads.py.
UPLOAD_PATH = "/v1/uploads"


# A composition's uploaded track must be an audio upload of the caller, which no schema can say
# (any ``upload://…`` is schema-valid): generated bodies keep their scenes and lose that track.
COMPOSITIONS_PATH = "/v1/compositions"


def _no_uploaded_track(context: HookContext, body: Any) -> Any:
    operation = context.operation
    if operation is None or operation.path != COMPOSITIONS_PATH or not isinstance(body, dict):
        return body
    audio = body.get("audio")
    if isinstance(audio, dict) and "upload" in audio:
        return {key: value for key, value in body.items() if key != "audio"}
    return body


@pytest.fixture(scope="module")
def api_schema(gateway: GatewayProcess) -> BaseSchema:
    schema = schemathesis.openapi.from_url(f"{gateway.url}/openapi.json")
    schema.config.update(headers=AUTH)
    schema.hooks.register_hook_with_name(_issued_cursors, "map_query")
    schema.hooks.register_hook_with_name(_usage_range, "map_query")
    schema.hooks.register_hook_with_name(_ordered_query_window, "map_query")
    schema.hooks.register_hook_with_name(_ordered_body_window, "map_body")
    schema.hooks.register_hook_with_name(_events_with_url, "map_body")
    schema.hooks.register_hook_with_name(_no_uploaded_track, "map_body")
    schema.hooks.register_hook_with_name(_fresh_idempotency_keys, "map_headers")
    return schema.exclude(path=ENDLESS, method="GET").exclude(path=UPLOAD_PATH, method="POST")


def test_every_operation_passes_every_check(api_schema: BaseSchema) -> None:
    """Each operation with positive and negative data; every failure is listed, not just one."""
    failures: list[str] = []
    operations = []
    for result in api_schema.get_all_operations():
        assert isinstance(result, Ok), f"the OpenAPI document has an invalid operation: {result}"
        operations.append(result.ok())
    assert operations, "the OpenAPI document lists no operation"
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @seed(SEED)
            @STATELESS
            @given(case=operation.as_strategy(generation_mode=mode, hooks=api_schema.hooks))
            def check(case: Case[Any]) -> None:
                case.call_and_validate(headers=AUTH, checks=ALL_CHECKS)

            try:
                check()
            except Unsatisfiable:
                continue  # nothing of this mode can be made for it (no parameter to break)
            except BaseException as exc:  # each failure is listed below
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    assert not failures, "\n\n".join(failures)


def test_stateful_sequences_pass_every_check(api_schema: BaseSchema, tmp_path: Path) -> None:
    base = api_schema.as_state_machine()

    class Workflow(base):  # type: ignore[valid-type,misc]
        def get_call_kwargs(self, case: Case[Any]) -> dict[str, Any]:
            return {"headers": AUTH}

        def validate_response(
            self,
            response: Any,
            case: Case[Any],
            additional_checks: list[Any] | None = None,
            **kwargs: Any,
        ) -> None:
            super().validate_response(
                response,
                case,
                additional_checks=[*ALL_CHECKS, *(additional_checks or [])],
                **kwargs,
            )

    run_state_machine_as_test(Workflow, settings=STATEFUL)
