"""The gateway's tables (the gateway is the only service with a database).

Changing a table means a new Alembic revision in ``db/migrations/versions``;
a test checks that the migrations and these models agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonColumn = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY
SerialId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # SHA-256 of the whole key, hex; the key itself is never stored
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # the first characters, so a person can tell keys apart
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # what the key may do (auth/scopes.py); keys from before scopes existed get generate+read
    scopes: Mapped[list[str]] = mapped_column(
        JsonColumn, server_default=text('\'["generate", "read"]\'')
    )
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # refreshed at most once a minute per key, not on every request
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class IdempotencyKey(Base):
    """A claimed ``Idempotency-Key`` of an owner: in flight (leased) or completed (a job)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("owner_id", "key"),)

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    owner_id: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of the canonical JSON body, hex
    request_hash: Mapped[str] = mapped_column(String(64))
    # who holds the claim while in flight; a request finishes only a claim it still holds
    token: Mapped[str] = mapped_column(String(32))
    # None while in flight; the job and the status code once the request completed
    job_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # an in-flight claim past its lease may be taken over (its request crashed)
    locked_until: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_owner_id_created_at_id", "owner_id", "created_at", "id"),
        # list filters (jobs/filters.py): by status for one owner, or across owners (admin)
        Index("ix_jobs_owner_id_status_created_at", "owner_id", "status", "created_at"),
        Index("ix_jobs_status_created_at", "status", "created_at"),
        Index("ix_jobs_error_code", "error_code"),
        # one retry per job (jobs/retry.py)
        Index("ix_jobs_retry_of", "retry_of", unique=True),
        # usage by day and month-to-date spend (costs/ledger.py)
        Index("ix_jobs_owner_id_created_day", "owner_id", "created_day"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(50))
    provider_model: Mapped[str] = mapped_column(String(200))
    input: Mapped[dict[str, Any]] = mapped_column(JsonColumn)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[dict[str, Any] | None] = mapped_column(JsonColumn, nullable=True)
    deadline_seconds: Mapped[int] = mapped_column(Integer)
    provider_request_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # the provider routes in the order they are tried ([{provider, provider_model}]);
    # None on jobs from before routes existed (then the one route is provider/provider_model)
    routes: Mapped[list[dict[str, str]] | None] = mapped_column(JsonColumn, nullable=True)
    start_deadline_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # one entry per provider attempt, in order (see jobs/attempts.py)
    attempts: Mapped[list[dict[str, Any]]] = mapped_column(JsonColumn, server_default=text("'[]'"))
    # where the owner wants to hear about it, and which events (see webhooks/events.py)
    webhook_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    webhook_events: Mapped[list[str] | None] = mapped_column(JsonColumn, nullable=True)
    # ``error["code"]`` of a failed job, as a column so lists can filter on it
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # the job this one retries, and the job that retried this one (jobs/retry.py)
    retry_of: Mapped[str | None] = mapped_column(String(40), nullable=True)
    retried_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # the UTC day the job was created (``YYYY-MM-DD``), so usage groups by day the same way
    # on SQLite and PostgreSQL; None only on jobs older than costs (filled by the migration)
    created_day: Mapped[str | None] = mapped_column(String(10), nullable=True)
    # cost (costs/pricing.py): the catalogue's price when the job was made, the estimate then,
    # and the actual cost from what the provider reported (None: unknown, never 0)
    cost_basis: Mapped[str] = mapped_column(String(20), server_default=text("'run'"))
    cost_unit_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    cost_simulated: Mapped[bool] = mapped_column(Boolean, server_default=false())
    cost_estimate_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    cost_actual_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    # what the providers reported, summed over the attempts (None: nothing reported)
    predict_time_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    billed_units: Mapped[float | None] = mapped_column(Float, nullable=True)
    # attempts the provider ran (it reported usage or delivered an output)
    provider_runs: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # what was stored: seconds of video, images (None until the job succeeded)
    output_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    output_images: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # the composition this job is a part of (compositions/), and which part: the scene's index
    # in the request, or AUDIO_PART (-1) for its generated score
    composition_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    composition_part: Mapped[int | None] = mapped_column(Integer, nullable=True)


class JobEvent(Base):
    """Every event seen for a job, once (``event_id`` is unique: redeliveries are no-ops)."""

    __tablename__ = "job_events"

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(200), unique=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(100))
    # the status the job moved to because of this event; None when it changed nothing
    status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    applied: Mapped[bool] = mapped_column(Boolean)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    payload: Mapped[dict[str, Any]] = mapped_column(JsonColumn)


class JobOutput(Base):
    """A stored output of a job (from ``GenerationStored``); the URL is signed on every read."""

    __tablename__ = "job_outputs"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(16))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fps: Mapped[float | None] = mapped_column(Float, nullable=True)
    video_codec: Mapped[str | None] = mapped_column(String(50), nullable=True)
    audio_codec: Mapped[str | None] = mapped_column(String(50), nullable=True)
    bit_rate: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    poster_key: Mapped[str | None] = mapped_column(String(500), nullable=True)


class OutboxMessage(Base):
    """An event waiting to be published, written in the same transaction as the change."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_published_at_id", "published_at", "id"),)

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(200), unique=True)
    job_id: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(100))
    headers: Mapped[dict[str, str]] = mapped_column(JsonColumn)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # the owner whose concurrency limit holds this row back (limits/concurrency.py); the
    # relay publishes only rows where it is None
    held_for: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)


class SubmitWindow(Base):
    """How many submits an owner made in one fixed rate-limit window (limits/rate.py).

    In the database, not in a process: every gateway process counts against the same row.
    """

    __tablename__ = "submit_windows"

    owner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # the window's start, in whole seconds since the epoch
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class WebhookSecret(Base):
    """An owner's webhook signing secret, encrypted (``webhooks/secrets.py``); newest version signs.

    A rotated-out version keeps signing until ``expires_at`` (the rotation overlap).
    """

    __tablename__ = "webhook_secrets"
    __table_args__ = (UniqueConstraint("owner_id", "version"),)

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    owner_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class WebhookDelivery(Base):
    """One webhook message for one job or composition event; its id is the stable ``webhook-id``.

    Exactly one of ``job_id`` and ``composition_id`` is set. A composition's delivery is keyed
    on what caused it (``event_id``: the part's job event, the assembler's answer, the API
    call), so a redelivered message cannot record it twice.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        UniqueConstraint("composition_id", "event_id", "type"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    job_id: Mapped[str | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), index=True, nullable=True
    )
    composition_id: Mapped[str | None] = mapped_column(
        ForeignKey("compositions.id", ondelete="CASCADE"), nullable=True
    )
    owner_id: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(50))
    url: Mapped[str] = mapped_column(String(2000))
    # the exact body sent on every attempt (the job as it was when the event was projected)
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # retried until then; a redelivery moves it
    give_up_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # a gateway process holds the delivery until then (several may run the worker)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class WebhookAttempt(Base):
    """One HTTP attempt of a delivery: when, the response code or the error."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    succeeded: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class Upload(Base):
    """A file an owner uploaded (``/v1/uploads``), stored under ``object_key``.

    Deleted (row and object) by its owner, or by the sweep once unused for the retention
    period: last use is ``last_used_at`` (a submit that referenced it), else ``created_at``.
    """

    __tablename__ = "uploads"
    __table_args__ = (
        Index("ix_uploads_owner_id_created_at_id", "owner_id", "created_at", "id"),
        Index("ix_uploads_last_used", "last_used"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(64))
    object_key: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    # None for audio
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # max(created_at, last_used_at), kept so the sweep finds expired uploads by an index
    last_used: Mapped[datetime] = mapped_column(UtcDateTime())


class Composition(Base):
    """A film made of generation jobs (its scenes and an optional score), then assembled.

    The parts are the jobs whose ``composition_id`` is this id (a retried part keeps its old
    job, ``retried_by`` pointing at the new one). ``spec`` holds the request's transition,
    output format and audio; ``assembly`` counts the assemblies asked for (0: none yet).
    """

    __tablename__ = "compositions"
    __table_args__ = (
        Index("ix_compositions_owner_id_created_at_id", "owner_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    policy: Mapped[str] = mapped_column(String(16))
    scene_count: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict[str, Any]] = mapped_column(JsonColumn)
    assembly: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # scene indexes the film was (or is being) assembled without (best_effort)
    missing: Mapped[list[int]] = mapped_column(JsonColumn, server_default=text("'[]'"))
    error: Mapped[dict[str, Any] | None] = mapped_column(JsonColumn, nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # the stored film (an ``Asset``, as JSON) once assembled
    outputs: Mapped[list[dict[str, Any]]] = mapped_column(JsonColumn, server_default=text("'[]'"))
    assembly_method: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    webhook_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    webhook_events: Mapped[list[str] | None] = mapped_column(JsonColumn, nullable=True)
