"""Uploads (``/v1/uploads``): how large, how many pixels, how long an unused one is kept."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

MIB = 1024 * 1024


class UploadSettings(BaseModel):
    max_bytes: int = Field(
        default=50 * MIB,
        ge=1024,
        description="the largest file `POST /v1/uploads` accepts (bytes; default 50 MiB); "
        "larger ones are refused with 413 `upload_too_large` while being read",
    )
    max_pixels: int = Field(
        default=40_000_000,
        ge=1,
        description="the most pixels (width × height) an uploaded image may declare; more is "
        "413 `upload_too_large` before it is decoded (decompression bombs)",
    )
    retention_days: float = Field(
        default=7.0,
        gt=0,
        description="an upload no submit used for this many days (since it was made or last "
        "used) is deleted",
    )
    sweep_interval_seconds: float = Field(
        default=600.0, gt=0, description="how often the gateway looks for expired uploads"
    )
    sweep_batch: int = Field(
        default=100, ge=1, le=10_000, description="expired uploads deleted, at most, per round"
    )
    temp_dir: Path | None = Field(
        default=None,
        description="where an upload is kept while it is checked; unset: the system temp directory",
    )
