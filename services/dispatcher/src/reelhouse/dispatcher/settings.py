"""The dispatcher's settings: ``REELHOUSE_`` prefix, ``__`` nesting.

For example ``REELHOUSE_PROVIDERS__REPLICATE__API_TOKEN=r8_...`` or
``REELHOUSE_POLL_INTERVAL_SECONDS=1``.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings

from reelhouse.common.settings import LogSettings, NatsSettings, settings_config
from reelhouse.common.streams import MAX_AGE_SECONDS


class ProviderSettings(BaseModel):
    """One provider endpoint speaking Replicate's HTTP protocol."""

    base_url: str
    # None: the provider is not configured and jobs for it fail with a clear reason
    api_token: SecretStr | None = None
    # bound on one provider call, client-side retries included; keep it under nats.ack_wait_seconds
    timeout_seconds: float = Field(default=20.0, gt=0)


# One class per provider so that setting a single variable (say only the base URL)
# keeps the other defaults of that provider.
class SandboxProviderSettings(ProviderSettings):
    base_url: str = "http://127.0.0.1:8010"
    api_token: SecretStr | None = SecretStr("sandbox")


class ReplicateProviderSettings(ProviderSettings):
    base_url: str = "https://api.replicate.com"
    api_token: SecretStr | None = None


class ProvidersSettings(BaseModel):
    sandbox: SandboxProviderSettings = SandboxProviderSettings()
    replicate: ReplicateProviderSettings = ReplicateProviderSettings()


class Settings(BaseSettings):
    model_config = settings_config()

    nats: NatsSettings = NatsSettings()
    log: LogSettings = LogSettings()
    providers: ProvidersSettings = ProvidersSettings()
    # how long the poll message waits between two looks at the provider
    poll_interval_seconds: float = Field(default=2.0, gt=0)
    # JetStream KeyValue bucket remembering job → provider request id (no double submission)
    dispatch_bucket: str = Field(default="reelhouse_dispatch", pattern=r"^[-\w]+$")
    # a record must outlive every (re)delivery of its request: as long as the stream keeps it
    dispatch_record_ttl_seconds: float = Field(default=float(MAX_AGE_SECONDS), gt=0)
