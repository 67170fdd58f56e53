"""Shared settings parts; each service composes them into its own BaseSettings.

Environment variables use the prefix ``REELHOUSE_`` and ``__`` for nesting,
for example ``REELHOUSE_NATS__URL`` or ``REELHOUSE_STORAGE__S3__ENDPOINT``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, TypeVar

import structlog
from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from reelhouse.common.events import DEADLETTER_STREAM_NAME, STREAM_NAME
from reelhouse.common.logging import configure_logging

ENV_PREFIX = "REELHOUSE_"
NESTED_DELIMITER = "__"
# the exit status of every service whose configuration is invalid (as for a usage error)
EXIT_BAD_CONFIG = 2

SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def settings_config() -> SettingsConfigDict:
    """The one settings configuration every service uses."""
    return SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter=NESTED_DELIMITER, extra="ignore"
    )


class NatsSettings(BaseModel):
    url: str = Field(
        default="nats://127.0.0.1:4222", description="the NATS server, with JetStream enabled"
    )
    stream: str = Field(
        default=STREAM_NAME,
        description="the JetStream stream every service publishes to and consumes from",
    )
    deadletter_stream: str = Field(
        default=DEADLETTER_STREAM_NAME,
        description="the JetStream stream poison messages are recorded on, under "
        "`deadletter.<original subject>` (kept 30 days)",
    )
    stream_replicas: int = Field(
        default=1,
        ge=1,
        le=5,
        description="copies of each stream (events, dead letters) a NATS cluster keeps (3 in a "
        "3-node cluster)",
    )
    connect_timeout: float = Field(
        default=5.0, gt=0, description="seconds to wait for each connection attempt"
    )
    ack_wait_seconds: float = Field(
        default=30.0,
        gt=0,
        description="how long a message may stay unacknowledged (no heartbeat) before "
        "JetStream redelivers it",
    )
    max_deliver: int = Field(
        default=8,
        ge=1,
        description="deliveries before a job fails with `max_deliveries_exceeded`",
    )
    duplicate_window_seconds: float = Field(
        default=600.0,
        gt=0,
        description="how long the broker remembers message ids to drop duplicates",
    )


class S3Settings(BaseModel):
    endpoint: str = Field(
        default="127.0.0.1:9000",
        description="host:port of the S3-compatible store (MinIO, SeaweedFS, AWS)",
    )
    access_key: SecretStr = Field(default=SecretStr(""), description="S3 access key")
    secret_key: SecretStr = Field(default=SecretStr(""), description="S3 secret key")
    bucket: str = Field(default="reelhouse", description="the bucket holding every object")
    secure: bool = Field(default=False, description="talk to the store over HTTPS")
    region: str | None = Field(default=None, description="the bucket's region, if it has one")
    # The client holds each part in memory (twice, while sending), so these bound an upload's
    # memory; 8 MiB parts allow objects up to ~78 GiB (10,000 parts) and measured as fast as
    # 16 MiB on loopback (bench/ingest.py)
    part_size_mb: int = Field(
        default=8,
        ge=5,
        le=512,
        description="multipart upload part size in MiB (memory ≈ 2 × part × parallel uploads)",
    )
    parallel_uploads: int = Field(
        default=1, ge=1, le=16, description="multipart upload parts sent at once"
    )


class StorageSettings(BaseModel):
    backend: Literal["local", "s3"] = Field(
        default="local", description="where objects live: local disk (embedded mode) or S3"
    )
    local_root: Path = Field(
        default=Path(".reelhouse/objects"), description="the directory of local-disk objects"
    )
    s3: S3Settings = S3Settings()

    @model_validator(mode="after")
    def _s3_needs_credentials(self) -> StorageSettings:
        if self.backend == "s3" and not self.s3.access_key.get_secret_value():
            raise ValueError(
                "REELHOUSE_STORAGE__S3__ACCESS_KEY must be set when REELHOUSE_STORAGE__BACKEND=s3"
            )
        return self


class LogSettings(BaseModel):
    level: str = Field(default="INFO", description="the lowest log level written")
    json_output: bool | None = Field(
        default=None,
        alias="json",
        description="JSON log lines; unset: JSON when stderr is not a terminal",
    )

    model_config = {"populate_by_name": True}


class SigningSettings(BaseModel):
    """Keys for signed media URLs: ``{key id: secret}``; the active id signs new URLs."""

    keys: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='JSON `{"key id": "secret"}` signing media URLs (required); keep old ids '
        "while rotating keys",
    )
    active_key_id: str = Field(default="k1", description="the key id that signs new URLs")
    url_ttl_seconds: int = Field(
        default=6 * 3600,
        ge=60,
        description="lifetime of media URLs (long enough to resume a paused video)",
    )

    @model_validator(mode="after")
    def _active_key_exists(self) -> SigningSettings:
        if self.keys and self.active_key_id not in self.keys:
            raise ValueError(
                f"REELHOUSE_SIGNING__ACTIVE_KEY_ID={self.active_key_id!r} is not one of "
                f"REELHOUSE_SIGNING__KEYS ({', '.join(sorted(self.keys))})"
            )
        return self

    def require_keys(self) -> dict[str, bytes]:
        if not self.keys:
            raise ValueError("REELHOUSE_SIGNING__KEYS must name at least one signing key")
        return {kid: secret.get_secret_value().encode() for kid, secret in self.keys.items()}


class HttpSettings(BaseModel):
    host: str = Field(default="127.0.0.1", description="the address the HTTP server binds")
    port: int = Field(
        default=8000,
        ge=0,
        le=65535,
        description="the HTTP port; 0 binds an ephemeral port, logged as `http.listening`",
    )
    port_file: Path | None = Field(
        default=None,
        description="a file the bound port number is written to once the server accepts "
        "connections (scaled replicas on one host bind port 0)",
    )


class TracingSettings(BaseModel):
    """OpenTelemetry traces, off by default (then nothing is recorded or exported).

    The OTLP/HTTP exporter also honours the standard ``OTEL_EXPORTER_OTLP_*`` variables
    (headers, certificates, compression, timeout, and the endpoint when ``otlp_endpoint``
    is not set) and ``OTEL_RESOURCE_ATTRIBUTES``.
    """

    enabled: bool = Field(
        default=False,
        description="record OpenTelemetry spans and export them over OTLP/HTTP; off: nothing "
        "is recorded or sent",
    )
    otlp_endpoint: str | None = Field(
        default=None,
        description="the collector's OTLP/HTTP base URL, e.g. http://otel-collector:4318 "
        "(`/v1/traces` is added); unset: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / "
        "`OTEL_EXPORTER_OTLP_ENDPOINT`, else http://localhost:4318",
    )
    sample_ratio: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="share of new traces recorded; a trace started upstream follows its "
        "parent's decision",
    )


def load_settings(cls: type[SettingsT], *, service: str) -> SettingsT:
    """``cls()`` from the environment; a bad value ends the process with ``EXIT_BAD_CONFIG``.

    The one way every ``__main__`` builds its settings: the log line ``config.invalid`` names
    each offending ``REELHOUSE_…`` variable and says what is wrong with it, with no traceback.
    """
    try:
        return cls()
    except (ValidationError, SettingsError) as exc:
        problems = settings_problems(exc, os.environ)
    configure_logging(service=service)
    structlog.get_logger(__name__).error(
        "config.invalid", service=service, problems=problems, exit_code=EXIT_BAD_CONFIG
    )
    raise SystemExit(EXIT_BAD_CONFIG)


def settings_problems(
    exc: ValidationError | SettingsError, environ: Mapping[str, str]
) -> list[str]:
    """One ``REELHOUSE_X__Y: what is wrong`` line per problem in ``exc``."""
    if isinstance(exc, ValidationError):
        # never the value itself: it may be a secret
        return [f"{variable_for(err['loc'])}: {err['msg']}" for err in exc.errors()]
    # pydantic-settings could not even decode a value (JSON for a list, dict or nested model):
    # it names only the top-level field, so name the variables that feed it
    match = re.search(r'field "([^"]+)"', str(exc))
    if match is None:
        return [str(exc)]
    field = variable_for((match.group(1),))
    variables = sorted(
        name
        for name in environ
        if name.upper() == field or name.upper().startswith(field + NESTED_DELIMITER)
    ) or [field]
    cause = f": {exc.__cause__}" if exc.__cause__ else ""
    return [f"{name}: not a valid JSON value{cause}" for name in variables]


def variable_for(loc: tuple[int | str, ...]) -> str:
    """The environment variable of a settings field: ``("nats", "url")`` → ``REELHOUSE_NATS__URL``.

    A list index or a model's own check (``loc`` ends early) stops at the variable that holds it.
    """
    parts: list[str] = []
    for part in loc:
        if not isinstance(part, str):
            break
        parts.append(part.upper())
    return ENV_PREFIX + NESTED_DELIMITER.join(parts)
