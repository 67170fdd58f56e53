"""The dispatcher's settings: ``REELHOUSE_`` prefix, ``__`` nesting.

For example ``REELHOUSE_PROVIDERS__REPLICATE__API_TOKEN=r8_...``,
``REELHOUSE_PROVIDERS__FAL__KEY=key_id:secret``, ``REELHOUSE_WEBHOOK_BASE_URL=https://hooks.example.com``
or ``REELHOUSE_POLL_INTERVAL_SECONDS=1``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings

from reelhouse.common.settings import (
    HttpSettings,
    LogSettings,
    NatsSettings,
    TracingSettings,
    settings_config,
)
from reelhouse.common.streams import MAX_AGE_SECONDS


class ProviderSettings(BaseModel):
    """One provider endpoint speaking Replicate's HTTP protocol."""

    base_url: str
    # None: the provider is not configured and jobs for it fail with a clear reason
    api_token: SecretStr | None = None
    # bound on one provider call, client-side retries included; keep it under nats.ack_wait_seconds
    timeout_seconds: float = Field(default=20.0, gt=0)
    # Standard-Webhooks secret (``whsec_...``); None: fetched from ``/v1/webhooks/default/secret``
    webhook_secret: SecretStr | None = None


# One class per provider so that setting a single variable (say only the base URL)
# keeps the other defaults of that provider.
class SandboxProviderSettings(ProviderSettings):
    base_url: str = "http://127.0.0.1:8010"
    api_token: SecretStr | None = SecretStr("sandbox")


class ReplicateProviderSettings(ProviderSettings):
    base_url: str = "https://api.replicate.com"
    api_token: SecretStr | None = None


class FalProviderSettings(BaseModel):
    """One provider endpoint speaking fal's queue protocol."""

    # where submissions go; the client then follows the URLs the queue answers with
    queue_url: str = "https://queue.fal.run"
    # None: the provider is not configured
    key: SecretStr | None = None
    # Ed25519 public keys that sign fal's webhooks
    jwks_url: str = "https://rest.alpha.fal.ai/.well-known/jwks.json"
    jwks_ttl_seconds: float = Field(default=24 * 3600.0, gt=0)
    # extra CA certificates to trust (PEM); None: the system store (or SSL_CERT_FILE)
    ca_file: Path | None = None
    timeout_seconds: float = Field(default=20.0, gt=0)


class SandboxFalProviderSettings(FalProviderSettings):
    queue_url: str = "https://127.0.0.1:8011"
    key: SecretStr | None = SecretStr("sandbox")
    jwks_url: str = "https://127.0.0.1:8011/.well-known/jwks.json"


class ProvidersSettings(BaseModel):
    sandbox: SandboxProviderSettings = SandboxProviderSettings()
    replicate: ReplicateProviderSettings = ReplicateProviderSettings()
    sandbox_fal: SandboxFalProviderSettings = SandboxFalProviderSettings()
    fal: FalProviderSettings = FalProviderSettings()


class SubmitRetrySettings(BaseModel):
    """Our own retries of a create/submit the provider refused (429, 5xx): nothing was created."""

    attempts: int = Field(default=4, ge=1, le=20)
    base_delay_seconds: float = Field(default=0.5, ge=0)
    # a provider's Retry-After longer than this is cut down to it
    max_delay_seconds: float = Field(default=10.0, ge=0)


class Settings(BaseSettings):
    model_config = settings_config()

    nats: NatsSettings = NatsSettings()
    log: LogSettings = LogSettings()
    tracing: TracingSettings = TracingSettings()
    # the webhook receiver (and /healthz)
    http: HttpSettings = HttpSettings(port=8002)
    providers: ProvidersSettings = ProvidersSettings()
    # public URL that reaches this dispatcher's HTTP port; None: no webhooks are requested
    webhook_base_url: str | None = None
    # how far a webhook's timestamp may be from our clock
    webhook_tolerance_seconds: float = Field(default=300.0, gt=0)
    # how long the poll message waits between two looks at the provider
    poll_interval_seconds: float = Field(default=2.0, gt=0)
    # the same while webhooks were requested: polling is then only the safety net
    poll_interval_with_webhooks_seconds: float = Field(default=10.0, gt=0)
    # time the provider may take to start a job when the request does not say
    default_start_deadline_seconds: float | None = Field(default=300.0, gt=0)
    submit_retry: SubmitRetrySettings = SubmitRetrySettings()
    # JetStream KeyValue bucket remembering job → provider request id (no double submission)
    dispatch_bucket: str = Field(default="reelhouse_dispatch", pattern=r"^[-\w]+$")
    # a record must outlive every (re)delivery of its request: as long as the stream keeps it
    dispatch_record_ttl_seconds: float = Field(default=float(MAX_AGE_SECONDS), gt=0)
