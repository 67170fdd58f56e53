"""The media service's settings: ``REELHOUSE_`` environment variables, ``__`` nesting.

There is no cache lifetime knob: ``Cache-Control: max-age`` is the remaining
lifetime of the signed URL that was presented, so a cached copy never outlives
the permission to fetch it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings

from reelhouse.common.settings import (
    HttpSettings,
    LogSettings,
    SigningSettings,
    StorageSettings,
    settings_config,
)

DEFAULT_PORT = 8001


class DeliverySettings(BaseModel):
    """How bytes reach the client: proxied through this service, or a redirect to S3."""

    mode: Literal["proxy", "redirect"] = Field(
        default="proxy",
        description="`proxy` streams from the object store; `redirect` answers `307` to a "
        "short-lived presigned S3 URL (S3 only)",
    )
    redirect_ttl_seconds: int = Field(
        default=300,
        ge=10,
        le=7 * 24 * 3600,
        description="lifetime of the presigned URL a redirect points at (never past the "
        "signed URL's expiry)",
    )
    redirect_endpoint: str | None = Field(
        default=None,
        description="the S3 (or CDN) address clients reach, when it differs from the one "
        "this service uses (`https://media.example.com`); presigned for that host",
    )
    clock_skew_seconds: int = Field(
        default=300,
        ge=0,
        le=3600,
        description="a signed URL is still accepted this long after its expiry by this "
        "service's clock: room for the gateway's clock (which signed it) running behind this "
        "one; a URL expired longer ago is refused with `signed_url_expired`. It lengthens every "
        "URL's life by as much",
    )
    metadata_ttl_seconds: float = Field(
        default=10.0,
        ge=0,
        description="how long an S3 object's size and ETag are remembered (a changed object "
        "is noticed on its next read either way); `0` asks each time",
    )
    s3_max_connections: int = Field(
        default=256,
        ge=1,
        description="open connections to S3 at most (each streaming viewer holds one)",
    )


class ServingSettings(BaseModel):
    """How many processes serve (each proxies about one core's worth of bytes at most)."""

    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="server processes sharing the port (each holds its own S3 connections, "
        "metadata cache and metrics, ~90 MB of memory: `/metrics` answers for the process a "
        "scrape reaches, so where metrics matter scale replicas instead; ADR 0010)",
    )


class CorsSettings(BaseModel):
    """Cross-origin access for players on other origins (``["*"]``: any, the URLs are signed)."""

    allowed_origins: list[str] = Field(
        default_factory=lambda: ["*"],
        description="JSON list of origins allowed to read media from scripts (the signed "
        "URLs themselves are the credential)",
    )
    max_age_seconds: int = Field(
        default=86_400, ge=0, description="how long browsers may cache a preflight answer"
    )


class Settings(BaseSettings):
    model_config = settings_config()

    http: HttpSettings = HttpSettings(port=DEFAULT_PORT)
    storage: StorageSettings = StorageSettings()
    signing: SigningSettings = SigningSettings()
    log: LogSettings = LogSettings()
    delivery: DeliverySettings = DeliverySettings()
    serving: ServingSettings = ServingSettings()
    cors: CorsSettings = CorsSettings()

    @model_validator(mode="after")
    def _redirect_needs_s3(self) -> Settings:
        if self.delivery.mode == "redirect" and self.storage.backend != "s3":
            raise ValueError(
                "REELHOUSE_DELIVERY__MODE=redirect needs REELHOUSE_STORAGE__BACKEND=s3: local-disk "
                "objects have no address to redirect to (use REELHOUSE_DELIVERY__MODE=proxy)"
            )
        return self
