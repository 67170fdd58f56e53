"""API shapes of uploads."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from reelhouse.gateway.uploads.sniff import UploadKind


class Upload(BaseModel):
    """A stored upload; pass ``reference`` as an image, video or audio input of a generation."""

    id: str = Field(examples=["upl_6f1c0d2e8a7b4c39a1e5f0b2c3d4e5f6"])
    kind: UploadKind
    content_type: str = Field(
        examples=["image/png"],
        description="What is stored: `image/jpeg`, `image/png`, `image/webp` (a GIF is stored "
        "as a PNG of its first frame), `video/mp4`, `video/webm`, `audio/mp4` (M4A), "
        "`audio/mpeg` (MP3) or `audio/wav`",
    )
    size: int = Field(description="Bytes stored (images are re-encoded without metadata)")
    width: int | None = Field(description="Pixels (images and videos; null for audio)")
    height: int | None = Field(description="Pixels (images and videos; null for audio)")
    duration: float | None = Field(description="Seconds (videos and audio)")
    sha256: str = Field(description="SHA-256 of the stored bytes, hex")
    url: str = Field(description="Signed media URL of the stored file, fresh on every read")
    reference: str = Field(
        examples=["upload://upl_6f1c0d2e8a7b4c39a1e5f0b2c3d4e5f6"],
        description='Use it for a generation input declared `"format": "uri"`',
    )
    created_at: datetime
    last_used_at: datetime | None = Field(description="The last submit that referenced it")
    expires_at: datetime = Field(
        description="When it is deleted if no submit uses it before (each use moves it)"
    )


class UploadPage(BaseModel):
    data: list[Upload]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page")
