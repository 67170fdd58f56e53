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
    SigningSettings,
    TracingSettings,
    settings_config,
)
from reelhouse.common.streams import MAX_AGE_SECONDS


class ProviderSettings(BaseModel):
    """One provider endpoint speaking Replicate's HTTP protocol."""

    base_url: str = Field(description="the provider's API address")
    api_token: SecretStr | None = Field(
        default=None,
        description="the API token; unset: the provider is not configured and its jobs fail "
        "with a clear reason",
    )
    timeout_seconds: float = Field(
        default=20.0,
        gt=0,
        description="bound on one provider call, client retries included (keep it under "
        "REELHOUSE_NATS__ACK_WAIT_SECONDS)",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="the Standard-Webhooks signing secret (`whsec_…`); unset: fetched from "
        "the provider",
    )


# One class per provider so that setting a single variable (say only the base URL)
# keeps the other defaults of that provider.
class SandboxProviderSettings(ProviderSettings):
    base_url: str = Field(
        default="http://127.0.0.1:8010", description="the sandbox provider's Replicate API"
    )
    api_token: SecretStr | None = Field(
        default=SecretStr("sandbox"), description="the token the sandbox expects"
    )


class ReplicateProviderSettings(ProviderSettings):
    base_url: str = Field(default="https://api.replicate.com", description="Replicate's API")
    api_token: SecretStr | None = Field(
        default=None, description="your Replicate API token (`r8_…`): enables Replicate models"
    )


class FalProviderSettings(BaseModel):
    """One provider endpoint speaking fal's queue protocol."""

    queue_url: str = Field(
        default="https://queue.fal.run",
        description="where submissions go; the client then follows the URLs the queue answers with",
    )
    key: SecretStr | None = Field(
        default=None,
        description="your fal key (`key_id:secret`); unset: fal is not configured",
    )
    jwks_url: str = Field(
        default="https://rest.alpha.fal.ai/.well-known/jwks.json",
        description="the Ed25519 public keys that sign fal's webhooks",
    )
    jwks_ttl_seconds: float = Field(
        default=24 * 3600.0, gt=0, description="how long fetched webhook keys are kept"
    )
    ca_file: Path | None = Field(
        default=None,
        description="extra CA certificates to trust (PEM); unset: the system store "
        "(or SSL_CERT_FILE)",
    )
    timeout_seconds: float = Field(
        default=20.0, gt=0, description="bound on one call to the queue, retries included"
    )


class SandboxFalProviderSettings(FalProviderSettings):
    queue_url: str = Field(
        default="https://127.0.0.1:8011", description="the sandbox's fal queue API (HTTPS)"
    )
    key: SecretStr | None = Field(
        default=SecretStr("sandbox"), description="the key the sandbox's fal API expects"
    )
    jwks_url: str = Field(
        default="https://127.0.0.1:8011/.well-known/jwks.json",
        description="the keys that sign the sandbox's fal webhooks",
    )


class ProvidersSettings(BaseModel):
    sandbox: SandboxProviderSettings = SandboxProviderSettings()
    replicate: ReplicateProviderSettings = ReplicateProviderSettings()
    sandbox_fal: SandboxFalProviderSettings = SandboxFalProviderSettings()
    fal: FalProviderSettings = FalProviderSettings()


class SubmitRetrySettings(BaseModel):
    """Our own retries of a create/submit the provider refused (429, 5xx): nothing was created."""

    attempts: int = Field(
        default=4, ge=1, le=20, description="tries of a submission the provider refused"
    )
    base_delay_seconds: float = Field(
        default=0.5, ge=0, description="first pause between two tries, doubled after each"
    )
    max_delay_seconds: float = Field(
        default=10.0,
        ge=0,
        description="the longest pause; a provider's longer `Retry-After` is cut down to it",
    )


class Settings(BaseSettings):
    model_config = settings_config()

    nats: NatsSettings = NatsSettings()
    log: LogSettings = LogSettings()
    tracing: TracingSettings = TracingSettings()
    # the webhook receiver, health and metrics
    http: HttpSettings = HttpSettings(port=8002)
    providers: ProvidersSettings = ProvidersSettings()
    webhook_base_url: str | None = Field(
        default=None,
        description="public URL that reaches this dispatcher's HTTP port (providers call "
        "`/webhooks/…` under it); unset: no webhooks, polling only",
    )
    webhook_tolerance_seconds: float = Field(
        default=300.0, gt=0, description="how far a webhook's timestamp may be from our clock"
    )
    poll_interval_seconds: float = Field(
        default=2.0,
        gt=0,
        description="pause between two looks at the provider (a NATS redelivery)",
    )
    poll_interval_with_webhooks_seconds: float = Field(
        default=10.0,
        gt=0,
        description="the same while webhooks were requested: polling is then the safety net",
    )
    default_start_deadline_seconds: float | None = Field(
        default=300.0,
        gt=0,
        description="time a provider may take to start a job when the request does not say",
    )
    submit_retry: SubmitRetrySettings = SubmitRetrySettings()
    # the media service's signing keys: upload references become signed media URLs
    signing: SigningSettings = SigningSettings()
    public_media_base_url: str = Field(
        default="http://127.0.0.1:8001",
        description="the media service's address as providers reach it: an upload in a job's "
        "input is handed to the provider as a signed URL under it",
    )
    upload_url_ttl_seconds: int = Field(
        default=3600,
        ge=60,
        le=7 * 86_400,
        description="lifetime of the signed upload URLs handed to providers (long enough for "
        "the provider to fetch the file, even from its queue)",
    )
    dispatch_bucket: str = Field(
        default="reelhouse_dispatch",
        pattern=r"^[-\w]+$",
        description="JetStream key-value bucket remembering job → provider request id "
        "(no double submission)",
    )
    dispatch_record_ttl_seconds: float = Field(
        default=float(MAX_AGE_SECONDS),
        gt=0,
        description="how long a dispatch record is kept: as long as the stream keeps the "
        "request it belongs to",
    )
