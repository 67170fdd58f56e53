"""What the sandbox keeps on disk under ``data_dir``, so a restart forgets nothing.

- ``predictions/{id}.json``: one small JSON record per prediction, rewritten on every change
  (a temporary file beside it, then ``os.replace``: a reader sees the old or the new record,
  never half of one). A file that cannot be read is skipped with a warning at start-up.
- ``url-signing.key``: the random secret that signs output URLs (mode 0600), generated once,
  so URLs issued before a restart keep working.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reelhouse.sandbox.faults import FaultPlan
from reelhouse.sandbox.outputs import OutputFiles
from reelhouse.sandbox.predictions import Prediction, Protocol, Status

log = structlog.get_logger(__name__)

PREDICTIONS_DIR = "predictions"
RECORD_SUFFIX = ".json"
TEMP_SUFFIX = ".tmp"
SECRET_FILE = "url-signing.key"  # noqa: S105 (a file name, not a secret)
SECRET_BYTES = 32


class PredictionRecord(BaseModel):
    """The saved form of a ``Prediction`` (its wall-clock times drive its clock on reload)."""

    model_config = ConfigDict(frozen=True)

    format: Literal[1] = 1
    id: Annotated[str, Field(pattern=r"^[a-z0-9]{1,64}$")]
    model: str
    version: str
    input: dict[str, Any]
    seed: int | None
    status: Status
    created_at: float
    started_at: float | None
    completed_at: float | None
    queue_seconds: float
    render_seconds: float
    logs: str
    output_files: list[str] | None
    output_expires_at: float | None
    plan: FaultPlan
    error: str | None
    data_removed: bool
    # added with the fal protocol and webhooks (records written before read as Replicate's)
    protocol: Protocol = "replicate"
    webhook_url: str | None = None
    webhook_events: tuple[str, ...] = ()
    gateway_request_id: str | None = None
    # added with image-to-video: a failure caused by an input file
    error_type: str | None = None
    error_field: str | None = None

    @classmethod
    def of(cls, prediction: Prediction) -> PredictionRecord:
        return cls(
            id=prediction.id,
            model=prediction.model,
            version=prediction.version,
            input=prediction.input,
            seed=prediction.seed,
            status=prediction.status,
            created_at=prediction.created_at,
            started_at=prediction.started_at,
            completed_at=prediction.completed_at,
            queue_seconds=prediction.queue_seconds,
            render_seconds=prediction.render_seconds,
            logs=prediction.logs,
            output_files=prediction.output_files,
            output_expires_at=prediction.output_expires_at,
            plan=prediction.plan,
            error=prediction.error,
            data_removed=prediction.data_removed,
            protocol=prediction.protocol,
            webhook_url=prediction.webhook_url,
            webhook_events=prediction.webhook_events,
            gateway_request_id=prediction.gateway_request_id,
            error_type=prediction.error_type,
            error_field=prediction.error_field,
        )

    def to_prediction(self, outputs: OutputFiles) -> Prediction:
        """The prediction again; its output URLs are signed anew (same secret, same URLs)."""
        output = None
        expires_at = self.output_expires_at
        if self.status is Status.SUCCEEDED and self.output_files and expires_at is not None:
            output = [
                outputs.url_for(self.id, name, expires_at=expires_at) for name in self.output_files
            ]
        prediction = Prediction(
            id=self.id,
            model=self.model,
            version=self.version,
            input=dict(self.input),
            created_at=self.created_at,
            queue_seconds=self.queue_seconds,
            render_seconds=self.render_seconds,
            plan=self.plan,
            seed=self.seed,
            status=self.status,
            started_at=self.started_at,
            completed_at=self.completed_at,
            output=output,
            output_files=None if self.output_files is None else list(self.output_files),
            output_expires_at=self.output_expires_at,
            error=self.error,
            logs=self.logs,
            data_removed=self.data_removed,
            protocol=self.protocol,
            webhook_url=self.webhook_url,
            webhook_events=tuple(self.webhook_events),
            gateway_request_id=self.gateway_request_id,
            error_type=self.error_type,
            error_field=self.error_field,
        )
        if prediction.is_terminal:
            prediction.stop_requested.set()
            prediction.finished.set()
        return prediction


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step; the file is created with mode 0600."""
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise


class PredictionJournal:
    """Saves every prediction as ``{directory}/{id}.json`` and loads them all back."""

    def __init__(self, directory: Path, outputs: OutputFiles) -> None:
        self.directory = directory
        self._outputs = outputs
        directory.mkdir(parents=True, exist_ok=True)

    def path_for(self, prediction_id: str) -> Path:
        return self.directory / f"{prediction_id}{RECORD_SUFFIX}"

    def save(self, prediction: Prediction) -> None:
        """Write the prediction's record; a disk error is logged, never raised to the caller."""
        data = PredictionRecord.of(prediction).model_dump_json().encode()
        try:
            write_atomically(self.path_for(prediction.id), data)
        except OSError:
            log.exception("persistence.save_failed", prediction_id=prediction.id)

    def load(self) -> list[Prediction]:
        """Every readable record, oldest first; unreadable ones are skipped with a warning."""
        for leftover in self.directory.glob(f".*{TEMP_SUFFIX}"):
            # a write interrupted before its os.replace: the record it replaced is intact
            with contextlib.suppress(OSError):
                leftover.unlink()
        records: list[PredictionRecord] = []
        for path in sorted(self.directory.glob(f"*{RECORD_SUFFIX}")):
            record = self._read(path)
            if record is not None:
                records.append(record)
        records.sort(key=lambda record: record.created_at)
        return [record.to_prediction(self._outputs) for record in records]

    def _read(self, path: Path) -> PredictionRecord | None:
        try:
            record = PredictionRecord.model_validate_json(path.read_bytes())
        except (OSError, ValidationError) as exc:
            log.warning("persistence.record_skipped", path=str(path), error=str(exc))
            return None
        if path.name != f"{record.id}{RECORD_SUFFIX}":
            log.warning("persistence.record_skipped", path=str(path), error="id/name mismatch")
            return None
        return record


def load_or_create_secret(path: Path) -> bytes:
    """The URL signing secret kept in ``path`` (hex, mode 0600); generated on first use."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        text = None
    except ValueError:  # not ASCII
        text = ""
    if text is not None:
        try:
            secret = bytes.fromhex(text)
        except ValueError:
            secret = b""
        if len(secret) >= SECRET_BYTES:
            _keep_private(path)
            return secret
        log.warning("persistence.secret_replaced", path=str(path), reason="unreadable")
    secret = secrets.token_bytes(SECRET_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, secret.hex().encode("ascii"))
    log.info("persistence.secret_created", path=str(path))
    return secret


def _keep_private(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        os.chmod(path, 0o600)
        log.warning("persistence.secret_mode_fixed", path=str(path), mode=oct(mode))
