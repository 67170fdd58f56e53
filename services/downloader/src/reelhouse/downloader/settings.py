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

    # largest output accepted, checked against Content-Length and while streaming
    max_bytes: int = Field(default=2 * GIB, gt=0)
    # loopback addresses (127.0.0.0/8, ::1) are refused unless this is set (embedded mode, tests)
    allow_loopback: bool = False
    # private ranges a deployment trusts on purpose, e.g. ["172.16.0.0/12"] for a compose network
    allowed_networks: list[IPvAnyNetwork] = Field(default_factory=list)
    # production fetches https only; the embedded/dev mode sets ["http", "https"]
    allowed_schemes: list[str] = Field(default_factory=lambda: ["https"])
    # per provider, the hosts its outputs (and their redirects) may come from: exact names,
    # ``*.example.com`` or ``*``; a provider not listed may use any host that passes the guard
    allowed_hosts: dict[str, list[str]] = Field(default_factory=dict)
    max_redirects: int = Field(default=5, ge=0, le=20)
    connect_timeout: float = Field(default=10.0, gt=0)
    # longest silence between two reads of the body
    read_timeout: float = Field(default=60.0, gt=0)
    # cap on one whole transfer, however steadily it trickles (retries and resumes included)
    total_timeout: float = Field(default=1800.0, gt=0)
    # attempts per output (a cut transfer resumes with Range), paused by exponential backoff
    # with jitter between retry_base_delay and retry_max_delay
    fetch_attempts: int = Field(default=5, ge=1, le=50)
    retry_base_delay: float = Field(default=0.5, gt=0)
    retry_max_delay: float = Field(default=8.0, gt=0)
    # uploads tried in place before the message goes back to the broker
    storage_attempts: int = Field(default=3, ge=1, le=20)
    # the poster: at most this wide, from the first non-black frame this far into the video
    poster_width: int = Field(default=640, ge=16, le=4096)
    poster_scan_seconds: float = Field(default=5.0, ge=0)
    # where partial downloads live until they are stored; None: the system temp directory
    temp_dir: Path | None = None
    # outputs fetched at once by one replica (each may hold up to max_bytes on temp_dir)
    concurrency: int = Field(default=1, ge=1, le=64)

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
