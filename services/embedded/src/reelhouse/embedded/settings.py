"""The launcher's own knobs: ``REELHOUSE_EMBEDDED__*`` (for example ``REELHOUSE_EMBEDDED__NATS_PORT``).

The NATS port defaults to 4322, not NATS's usual 4222: a system NATS often listens on 4222
already, and the services would silently talk to it instead of the embedded one.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings

from reelhouse.common.settings import LogSettings, NatsSettings, settings_config


class EmbeddedOptions(BaseModel):
    data_dir: Path = Field(
        default=Path(".reelhouse"),
        description="everything the embedded system keeps: NATS data, objects, database, secrets",
    )
    host: str = Field(default="127.0.0.1", description="the address every part binds")
    nats_port: int = Field(
        default=4322,
        ge=1,
        le=65535,
        description="the embedded NATS server (not 4222, so it never meets a system NATS)",
    )
    gateway_port: int = Field(default=8000, ge=1, le=65535, description="the gateway's port")
    media_port: int = Field(default=8001, ge=1, le=65535, description="the media service's port")
    dispatcher_port: int = Field(
        default=8002, ge=1, le=65535, description="the dispatcher's port (webhooks)"
    )
    downloader_port: int = Field(
        default=8003, ge=1, le=65535, description="the downloader's port (health and metrics)"
    )
    assembler_port: int = Field(
        default=8004, ge=1, le=65535, description="the assembler's port (health and metrics)"
    )
    sandbox_port: int = Field(
        default=8010, ge=1, le=65535, description="the sandbox provider's port"
    )
    sandbox_fal_port: int = Field(
        default=8011,
        ge=1,
        le=65535,
        description="the sandbox's fal queue API (HTTPS with the sandbox's own CA)",
    )
    web_path: str = Field(
        default="/", description="the web page the gateway serves, printed in the banner"
    )
    start_timeout_seconds: float = Field(
        default=60.0, gt=0, description="bound on each part becoming ready"
    )
    stop_timeout_seconds: float = Field(
        default=10.0, gt=0, description="bound on each part's graceful stop"
    )
    force_after_seconds: float = Field(
        default=2.0,
        gt=0,
        description="a second Ctrl-C/SIGTERM forces the stop (SIGKILL) only this long after the "
        "first: a terminal and `uv run` often deliver the same Ctrl-C twice at once",
    )


class Settings(BaseSettings):
    model_config = settings_config()

    embedded: EmbeddedOptions = EmbeddedOptions()
    log: LogSettings = LogSettings()
    # only the stream settings matter here: the launcher always runs its own NATS server
    nats: NatsSettings = NatsSettings()
