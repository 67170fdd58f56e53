"""The gateway's settings, composed from the shared parts (prefix ``REELHOUSE_``).

For example ``REELHOUSE_DATABASE_URL``, ``REELHOUSE_HTTP__PORT``,
``REELHOUSE_BOOTSTRAP_API_KEY``, ``REELHOUSE_OUTBOX__POLL_SECONDS`` or
``REELHOUSE_CATALOG_PATHS='["/etc/reelhouse/models.json"]'``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings

from reelhouse.common.settings import (
    HttpSettings,
    LogSettings,
    NatsSettings,
    SigningSettings,
    TracingSettings,
    settings_config,
)
from reelhouse.gateway.cors import CorsSettings
from reelhouse.gateway.limits.settings import LimitSettings


class OutboxSettings(BaseModel):
    """How the relay drains the transactional outbox to JetStream."""

    poll_seconds: float = Field(
        default=2.0,
        gt=0,
        description="the relay wakes on every new job and, at the latest, after this long",
    )
    batch_size: int = Field(
        default=100, ge=1, le=1000, description="outbox rows published per round"
    )
    retry_base_seconds: float = Field(
        default=0.5, gt=0, description="backoff after a failed publish: base × 2ⁿ, capped"
    )
    retry_max_seconds: float = Field(
        default=15.0, gt=0, description="the longest backoff between two publish attempts"
    )


class Settings(BaseSettings):
    model_config = settings_config()

    http: HttpSettings = HttpSettings()
    nats: NatsSettings = NatsSettings()
    log: LogSettings = LogSettings()
    signing: SigningSettings = SigningSettings()
    outbox: OutboxSettings = OutboxSettings()
    tracing: TracingSettings = TracingSettings()
    cors: CorsSettings = CorsSettings()
    limits: LimitSettings = LimitSettings()

    database_url: str = Field(
        default="sqlite+aiosqlite:///.reelhouse/reelhouse.db",
        description="the job store: SQLite or `postgresql+asyncpg://…`; migrations run at start",
    )
    media_base_url: str = Field(
        default="http://127.0.0.1:8001",
        description="public address of the media service (media URLs start with it)",
    )
    bootstrap_api_key: SecretStr | None = Field(
        default=None,
        description="an API key for owner `dev`, created (idempotently) at start when set",
    )
    default_deadline_seconds: int = Field(
        default=900,
        ge=10,
        le=86_400,
        description="a job's deadline unless the request sets `deadline_seconds`",
    )
    max_deadline_seconds: int = Field(
        default=86_400, ge=10, description="the longest `deadline_seconds` a request may ask for"
    )
    default_start_deadline_seconds: int | None = Field(
        default=None,
        ge=1,
        description="how long a provider may take to start before the next route is tried, "
        "unless the request says (unset: no limit)",
    )
    catalog_paths: list[Path] = Field(
        default_factory=list,
        description="JSON list of operator catalogue files (same shape as the shipped one), "
        "merged over it in order",
    )
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="the largest request body accepted (bytes; default 1 MiB): larger ones are "
        "refused with 413 `payload_too_large` while being read",
    )
    nats_start_timeout_seconds: float = Field(
        default=10.0,
        ge=0,
        description="how long start-up waits for NATS before serving anyway (the outbox "
        "holds new jobs)",
    )

    @field_validator("bootstrap_api_key")
    @classmethod
    def _bootstrap_key_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("REELHOUSE_BOOTSTRAP_API_KEY must be at least 16 characters long")
        return value

    @model_validator(mode="after")
    def _deadlines_fit(self) -> Settings:
        if self.default_deadline_seconds > self.max_deadline_seconds:
            raise ValueError(
                "REELHOUSE_DEFAULT_DEADLINE_SECONDS must not exceed REELHOUSE_MAX_DEADLINE_SECONDS"
            )
        return self
