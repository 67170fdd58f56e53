"""The downloader's settings: ``REELHOUSE_`` environment variables, ``__`` for nesting.

Examples: ``REELHOUSE_MAX_BYTES``, ``REELHOUSE_ALLOW_LOOPBACK=true``,
``REELHOUSE_ALLOWED_SCHEMES='["http","https"]'``, ``REELHOUSE_STORAGE__BACKEND=s3``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, IPvAnyNetwork, field_validator
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
KNOWN_SCHEMES = frozenset({"http", "https"})


class Settings(BaseSettings):
    model_config = settings_config()

    nats: NatsSettings = NatsSettings()
    storage: StorageSettings = StorageSettings()
    log: LogSettings = LogSettings()
    # health and metrics (``/livez``, ``/readyz``, ``/metrics``); 0 binds an ephemeral port
    http: HttpSettings = HttpSettings(port=8003)
    tracing: TracingSettings = TracingSettings()

    max_bytes: int = Field(
        default=2 * GIB,
        gt=0,
        description="largest output accepted (bytes), checked against Content-Length and "
        "while streaming; larger fails with `too_large`",
    )
    allow_loopback: bool = Field(
        default=False,
        description="let downloads reach loopback addresses (127.0.0.0/8, ::1): embedded "
        "mode and tests only",
    )
    allowed_networks: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description='JSON list of private ranges trusted on purpose, e.g. `["10.0.0.0/8"]` '
        "for a cluster's Service network",
    )
    allowed_schemes: list[str] = Field(
        default_factory=lambda: ["https"],
        description='JSON list of URL schemes followed; the embedded/dev mode sets `["http", '
        '"https"]`',
    )
    allowed_hosts: dict[str, list[str]] = Field(
        default_factory=dict,
        description="per provider, the hosts its outputs and their redirects may come from "
        '(`{"replicate": ["*.replicate.delivery"]}`); a provider not listed may use any host '
        "that passes the guard",
    )
    max_redirects: int = Field(default=5, ge=0, le=20, description="redirects followed per output")
    connect_timeout: float = Field(
        default=10.0, gt=0, description="seconds to connect to an output's host"
    )
    read_timeout: float = Field(
        default=60.0, gt=0, description="longest silence between two reads of the body"
    )
    total_timeout: float = Field(
        default=1800.0,
        gt=0,
        description="cap on one whole transfer, however steadily it trickles (retries and "
        "resumes included)",
    )
    fetch_attempts: int = Field(
        default=5,
        ge=1,
        le=50,
        description="attempts per output (a cut transfer resumes with `Range`)",
    )
    retry_base_delay: float = Field(
        default=0.5, gt=0, description="first pause between attempts (exponential, jittered)"
    )
    retry_max_delay: float = Field(
        default=8.0, gt=0, description="the longest pause between attempts"
    )
    storage_attempts: int = Field(
        default=3,
        ge=1,
        le=20,
        description="uploads tried in place before the message goes back to the broker",
    )
    poster_width: int = Field(
        default=640, ge=16, le=4096, description="widest poster JPEG, in pixels"
    )
    poster_scan_seconds: float = Field(
        default=5.0,
        ge=0,
        description="how far into the video the poster's first non-black frame is looked for",
    )
    temp_dir: Path | None = Field(
        default=None,
        description="where partial downloads live until stored; unset: the system temp directory",
    )
    concurrency: int = Field(
        default=1,
        ge=1,
        le=64,
        description="outputs fetched at once by one replica (each may hold up to "
        "REELHOUSE_MAX_BYTES in the temp directory)",
    )

    @field_validator("allowed_schemes")
    @classmethod
    def _known_schemes(cls, value: list[str]) -> list[str]:
        schemes = [s.lower() for s in value]
        unknown = sorted(set(schemes) - KNOWN_SCHEMES)
        if unknown or not schemes:
            raise ValueError(
                f"REELHOUSE_ALLOWED_SCHEMES must list some of {sorted(KNOWN_SCHEMES)}, got {value}"
            )
        return schemes
