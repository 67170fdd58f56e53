"""The gateway's settings, composed from the shared parts (prefix ``REELHOUSE_``).

For example ``REELHOUSE_DATABASE_URL``, ``REELHOUSE_HTTP__PORT``,
``REELHOUSE_BOOTSTRAP_API_KEY``, ``REELHOUSE_OUTBOX__POLL_SECONDS`` or
``REELHOUSE_CATALOG_PATHS='["/etc/reelhouse/models.json"]'``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, IPvAnyNetwork, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings

from reelhouse.common.settings import (
    HttpSettings,
    LogSettings,
    NatsSettings,
    SigningSettings,
    StorageSettings,
    TracingSettings,
    settings_config,
)
from reelhouse.gateway.cors import CorsSettings
from reelhouse.gateway.costs.settings import CostSettings
from reelhouse.gateway.limits.settings import LimitSettings
from reelhouse.gateway.uploads.settings import UploadSettings


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


class IdempotencySettings(BaseModel):
    """How long ``Idempotency-Key`` claims on ``POST /v1/generations`` are kept."""

    ttl_seconds: int = Field(
        default=86_400,
        ge=60,
        description="how long a key is remembered after its first use; later it may be reused",
    )
    lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description="how long an in-flight claim blocks its key (409) before a retry may take "
        "it over (the first request crashed)",
    )
    cleanup_batch: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="expired keys deleted, at most, by each keyed submit",
    )


class SseSettings(BaseModel):
    """Server-sent event streams (``/v1/events``, ``/v1/generations/{id}/events``)."""

    keepalive_seconds: float = Field(
        default=15.0, gt=0, le=300, description="a `: keep-alive` comment after this much silence"
    )
    poll_seconds: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="a stream re-reads the database at least this often, even without a NATS "
        "notification (the safety net when one is lost)",
    )
    retry_ms: int = Field(
        default=3000, ge=0, le=600_000, description="the `retry:` reconnect hint sent to clients"
    )
    max_streams_per_owner: int = Field(
        default=10,
        ge=1,
        description="open streams one owner may hold on one gateway process; beyond it `429` "
        "`too_many_streams`",
    )
    gap_grace_seconds: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="`/v1/events` waits this long for an event id still being committed before "
        "passing it by (PostgreSQL commits ids out of order)",
    )
    batch_size: int = Field(default=200, ge=1, le=5000, description="rows read per query")


class WebhookSettings(BaseModel):
    """Signed webhooks to the client: where they may go, how they are retried and signed."""

    allowed_schemes: list[str] = Field(
        default_factory=lambda: ["https"],
        description="JSON list of schemes a `webhook_url` may use; the embedded mode sets "
        '`["http", "https"]`',
    )
    allow_loopback: bool = Field(
        default=False,
        description="let webhooks reach loopback addresses (127.0.0.0/8, ::1): embedded mode "
        "and tests only",
    )
    allowed_networks: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description='JSON list of private ranges webhooks may reach on purpose, e.g. `["10.0.0.0/8"]`',
    )
    max_age_seconds: float = Field(
        default=86_400.0,
        gt=0,
        description="how long a delivery is retried (from when it was created) before it fails",
    )
    retry_base_seconds: float = Field(
        default=5.0,
        gt=0,
        description="first retry delay; doubles per attempt (each delay is random between "
        "half and all of it)",
    )
    retry_max_seconds: float = Field(
        default=3600.0, gt=0, description="the longest delay between two attempts of a delivery"
    )
    poll_seconds: float = Field(
        default=1.0, gt=0, description="how often the delivery worker looks for due deliveries"
    )
    lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description="a claimed delivery is left to its gateway process this long (then another "
        "may take it)",
    )
    batch_size: int = Field(default=20, ge=1, le=500, description="deliveries claimed per round")
    connect_timeout_seconds: float = Field(
        default=5.0, gt=0, description="seconds to connect to a webhook URL"
    )
    timeout_seconds: float = Field(
        default=15.0, gt=0, description="cap on one delivery attempt (connect, send, response)"
    )
    rotation_overlap_seconds: float = Field(
        default=86_400.0,
        ge=0,
        description="after a secret rotation, deliveries are signed with the old secret too "
        "for this long",
    )
    secrets_key: SecretStr | None = Field(
        default=None,
        description="key that encrypts the owners' webhook secrets at rest (any string of 32+ "
        "characters); unset: a key derived from the active URL-signing key",
    )

    @field_validator("secrets_key")
    @classmethod
    def _secrets_key_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("REELHOUSE_WEBHOOKS__SECRETS_KEY must be at least 32 characters long")
        return value


class RetrySettings(BaseModel):
    """Retrying failed jobs (``POST /v1/generations/{id}/retry`` and the admin bulk retry)."""

    redownload_window_seconds: float = Field(
        default=3600.0,
        ge=0,
        description="a job that failed while downloading is re-downloaded (not generated "
        "again) when its provider output is younger than this and its URLs' own expiry, if "
        "stated, has not passed; 0 turns re-downloads off",
    )
    redownload_margin_seconds: float = Field(
        default=60.0,
        ge=0,
        description="a provider URL must stay valid at least this long to be re-downloaded",
    )
    bulk_max_jobs: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="the most jobs one admin bulk retry or cancel acts on (`limit` default and "
        "maximum)",
    )


class Settings(BaseSettings):
    model_config = settings_config()

    http: HttpSettings = HttpSettings()
    nats: NatsSettings = NatsSettings()
    log: LogSettings = LogSettings()
    signing: SigningSettings = SigningSettings()
    outbox: OutboxSettings = OutboxSettings()
    tracing: TracingSettings = TracingSettings()
    idempotency: IdempotencySettings = IdempotencySettings()
    sse: SseSettings = SseSettings()
    webhooks: WebhookSettings = WebhookSettings()
    retry: RetrySettings = RetrySettings()
    cors: CorsSettings = CorsSettings()
    limits: LimitSettings = LimitSettings()
    costs: CostSettings = CostSettings()
    # where uploads are stored: the same store the downloader writes outputs to
    storage: StorageSettings = StorageSettings()
    uploads: UploadSettings = UploadSettings()

    database_url: str = Field(
        default="sqlite+aiosqlite:///.reelhouse/reelhouse.db",
        description="the job store: SQLite or `postgresql+asyncpg://…`; migrations run at start",
    )
    database_pool_size: int = Field(
        default=16,
        ge=1,
        le=500,
        description="PostgreSQL connections each gateway process keeps open (half as many "
        "again under a burst); a request in flight holds one, so size it to the requests a "
        "process serves at once, and keep the sum over all processes under the server's "
        "`max_connections`",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="the gateway's public address, for links in webhook bodies (sent without "
        "a request to take them from)",
    )
    media_base_url: str = Field(
        default="http://127.0.0.1:8001",
        description="public address of the media service (media URLs start with it)",
    )
    bootstrap_api_key: SecretStr | None = Field(
        default=None,
        description="an API key for owner `dev` with every scope (`generate`, `read`, `admin`), "
        "created (idempotently) at start when set",
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
    configured_providers: list[str] | None = Field(
        default=None,
        description="JSON list of the provider names the dispatcher has credentials for; "
        "models with no configured provider are listed `available: false` and refused "
        "(`model_unavailable`). Unset: read from the dispatcher's own variables in this "
        "environment (`sandbox`/`sandbox-fal` unless REELHOUSE_PROVIDERS__SANDBOX__API_TOKEN "
        "is set empty, `replicate` when REELHOUSE_PROVIDERS__REPLICATE__API_TOKEN is set, "
        "`fal` when REELHOUSE_PROVIDERS__FAL__KEY is set)",
    )
    input_data_uri_max_bytes: int = Field(
        default=1024 * 1024,
        ge=0,
        description='the longest `data:` URI accepted for an input declared `"format": "uri"`',
    )
    input_allow_http_uris: bool = Field(
        default=False,
        description='accept plain `http://` URLs for inputs declared `"format": "uri"` '
        "(development; the embedded mode turns it on)",
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
    projector_enabled: bool = Field(
        default=True,
        description="run the projector here (off: this process serves the API and streams, "
        "other gateways project events)",
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
