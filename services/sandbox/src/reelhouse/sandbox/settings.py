"""The sandbox provider's settings (``REELHOUSE_`` prefix, ``__`` nesting)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings

from reelhouse.common.settings import HttpSettings, LogSettings, TracingSettings, settings_config

DEFAULT_PORT = 8010
DEFAULT_FAL_PORT = 8011


class SandboxHttpSettings(HttpSettings):
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535, description="the HTTP port")


class Settings(BaseSettings):
    model_config = settings_config()

    http: SandboxHttpSettings = SandboxHttpSettings()
    log: LogSettings = LogSettings()
    tracing: TracingSettings = TracingSettings()
    public_base_url: str = Field(
        default=f"http://127.0.0.1:{DEFAULT_PORT}",
        description="the address clients use to reach this server: every URL it emits "
        "starts with it",
    )
    # outputs under data_dir/files, predictions under data_dir/predictions, the URL secret
    # in data_dir/url-signing.key, the fal CA in data_dir/ca.pem
    data_dir: Path = Field(
        default=Path(".reelhouse/sandbox"),
        description="outputs, predictions and keys: a restart on the same directory carries "
        "on where it stopped",
    )
    queue_seconds: float = Field(
        default=1.0,
        ge=0,
        description='how long a prediction stays `starting` (waiting for a "worker")',
    )
    render_seconds: float = Field(
        default=2.0,
        ge=0,
        description="the least time a prediction stays `processing` (the render may take longer)",
    )
    output_ttl_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="how long output URLs stay valid after completion (real Replicate: one hour)",
    )
    render_workers: int = Field(
        default=2,
        ge=1,
        le=32,
        description="renders running at once; more wait their turn while `processing`",
    )
    fal_port: int = Field(
        default=DEFAULT_FAL_PORT,
        ge=1,
        le=65535,
        description="the port of fal's queue protocol, over HTTPS with the sandbox's private "
        "CA (same host as HTTP)",
    )
    fal_public_base_url: str = Field(
        default=f"https://127.0.0.1:{DEFAULT_FAL_PORT}",
        description="every fal URL the sandbox emits (status, response, cancel) starts with it",
    )
    webhook_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="bound on each webhook delivery try"
    )
    webhook_attempts: int = Field(
        default=4,
        ge=1,
        le=20,
        description="webhook delivery tries (same id) before giving up",
    )
