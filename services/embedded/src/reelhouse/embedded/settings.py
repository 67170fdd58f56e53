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
    # everything the embedded system keeps: NATS data, objects, database, secrets
    data_dir: Path = Path(".reelhouse")
    host: str = "127.0.0.1"
    nats_port: int = Field(default=4322, ge=1, le=65535)
    gateway_port: int = Field(default=8000, ge=1, le=65535)
    media_port: int = Field(default=8001, ge=1, le=65535)
    dispatcher_port: int = Field(default=8002, ge=1, le=65535)
    # the downloader's health and metrics
    downloader_port: int = Field(default=8003, ge=1, le=65535)
    sandbox_port: int = Field(default=8010, ge=1, le=65535)
    # the sandbox's fal queue API (HTTPS with the sandbox's own CA)
    sandbox_fal_port: int = Field(default=8011, ge=1, le=65535)
    # the web page the gateway serves, printed in the banner
    web_path: str = "/"
    # bound on each part becoming ready, and on each part's graceful stop
    start_timeout_seconds: float = Field(default=60.0, gt=0)
    stop_timeout_seconds: float = Field(default=10.0, gt=0)
    # a second Ctrl-C/SIGTERM forces the stop (SIGKILL) only this long after the first: a
    # terminal and `uv run` often deliver the same Ctrl-C twice at once
    force_after_seconds: float = Field(default=2.0, gt=0)


class Settings(BaseSettings):
    model_config = settings_config()

    embedded: EmbeddedOptions = EmbeddedOptions()
    log: LogSettings = LogSettings()
    # only the stream settings matter here: the launcher always runs its own NATS server
    nats: NatsSettings = NatsSettings()
