"""The sandbox provider's settings (``REELHOUSE_`` prefix, ``__`` nesting)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings

from reelhouse.common.settings import HttpSettings, LogSettings, TracingSettings, settings_config

DEFAULT_PORT = 8010
DEFAULT_FAL_PORT = 8011


class SandboxHttpSettings(HttpSettings):
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535)


class Settings(BaseSettings):
    model_config = settings_config()

    http: SandboxHttpSettings = SandboxHttpSettings()
    log: LogSettings = LogSettings()
    tracing: TracingSettings = TracingSettings()
    # the address clients use to reach this server: every URL it emits starts with it
    public_base_url: str = f"http://127.0.0.1:{DEFAULT_PORT}"
    # outputs under data_dir/files, predictions under data_dir/predictions, the URL secret
    # in data_dir/url-signing.key: a restart on the same data_dir carries on where it stopped
    data_dir: Path = Path(".reelhouse/sandbox")
    # how long a prediction stays ``starting`` (waiting for a "worker")
    queue_seconds: float = Field(default=1.0, ge=0)
    # the least time a prediction stays ``processing`` (the real render may take longer)
    render_seconds: float = Field(default=2.0, ge=0)
    # how long output URLs stay valid after completion (real Replicate: one hour)
    output_ttl_seconds: float = Field(default=3600.0, gt=0)
    # renders running at once; more wait their turn while ``processing``
    render_workers: int = Field(default=2, ge=1, le=32)
    # fal's queue protocol, over HTTPS with the private CA in data_dir/ca.pem, on this port
    # (same host as ``http``); every fal URL it emits (status/response/cancel) starts with
    # fal_public_base_url
    fal_port: int = Field(default=DEFAULT_FAL_PORT, ge=1, le=65535)
    fal_public_base_url: str = f"https://127.0.0.1:{DEFAULT_FAL_PORT}"
    # webhooks: the bound on each delivery try, and how many tries (same id) before giving up
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    webhook_attempts: int = Field(default=4, ge=1, le=20)
