"""The assembler's settings: ``REELHOUSE_`` environment variables, ``__`` for nesting.

Examples: ``REELHOUSE_MAX_SCENES``, ``REELHOUSE_MAX_FILM_SECONDS``,
``REELHOUSE_STORAGE__BACKEND=s3``, ``REELHOUSE_NATS__ACK_WAIT_SECONDS``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings

from reelhouse.common.settings import (
    HttpSettings,
    LogSettings,
    NatsSettings,
    StorageSettings,
    TracingSettings,
    settings_config,
)

GIB = 1024**3


class Settings(BaseSettings):
    model_config = settings_config()

    nats: NatsSettings = NatsSettings()
    storage: StorageSettings = StorageSettings()
    log: LogSettings = LogSettings()
    # health and metrics (``/livez``, ``/readyz``, ``/metrics``); 0 binds an ephemeral port
    http: HttpSettings = HttpSettings(port=8004)
    tracing: TracingSettings = TracingSettings()

    temp_dir: Path | None = Field(
        default=None,
        description="where each assembly's scenes, audio and film live until stored (one "
        "directory per message, removed after it); unset: the system temp directory",
    )
    max_scenes: int = Field(
        default=50,
        ge=1,
        le=500,
        description="most scenes one film joins; more fails the composition with `assembly_failed`",
    )
    max_input_bytes: int = Field(
        default=4 * GIB,
        gt=0,
        description="largest total of scenes and audio fetched for one film (bytes); more "
        "fails with `assembly_failed`",
    )
    max_film_seconds: float = Field(
        default=1800.0,
        gt=0,
        description="longest film made (seconds); a longer one fails with `assembly_failed`",
    )
    max_film_bytes: int = Field(
        default=4 * GIB,
        gt=0,
        description="largest film stored (bytes); a larger one fails with `assembly_failed`",
    )
    poster_width: int = Field(
        default=640, ge=16, le=4096, description="widest poster JPEG, in pixels"
    )
    poster_scan_seconds: float = Field(
        default=5.0,
        ge=0,
        description="how far into the film the poster's first non-black frame is looked for",
    )
    storage_attempts: int = Field(
        default=3,
        ge=1,
        le=20,
        description="uploads of the film tried in place before the message goes back to the "
        "broker (which would assemble it again)",
    )
    stall_seconds: float = Field(
        default=300.0,
        gt=0,
        description="the film is kept alive (JetStream in-progress) only while the encoder "
        "reported progress this recently; a stuck one is redelivered after the ack wait",
    )
    concurrency: int = Field(
        default=1,
        ge=1,
        le=16,
        description="films assembled at once by one replica (each re-encode keeps a CPU core "
        "busy; scale replicas rather than this)",
    )
