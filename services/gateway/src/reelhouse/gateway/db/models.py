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


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_owner_id_created_at_id", "owner_id", "created_at", "id"),)

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
