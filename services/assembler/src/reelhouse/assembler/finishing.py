"""The film as it is stored: ``moov`` first, probed, measured, with a poster (blocking: PyAV).

The film function writes faststart MP4s already; ``finish_film`` still checks, so a film
that would not start playing before it is fully downloaded is never stored. A film that does
not decode, or is longer or larger than the limits allow, fails the assembly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from reelhouse.common.errors import PermanentError
from reelhouse.common.media.faststart import needs_faststart, remux_faststart
from reelhouse.common.media.poster import make_poster
from reelhouse.common.media.probe import MediaInfo, probe_file
from reelhouse.common.media.sniff import MP4

CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class FilmLimits:
    max_seconds: float
    max_bytes: int
    poster_width: int
    poster_scan_seconds: float


@dataclass(frozen=True, slots=True)
class FinishedFilm:
    path: Path
    size: int
    sha256: str
    info: MediaInfo
    poster: Path | None


def file_sha256(path: Path) -> tuple[int, str]:
    """Size and sha256 of ``path``, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def finish_film(film: Path, workdir: Path, limits: FilmLimits) -> FinishedFilm:
    """Make ``film`` ready to store; ``assembly_failed`` when it is not a film we may store."""
    try:
        if needs_faststart(film, MP4):
            remuxed = workdir / "film.faststart.mp4"
            remux_faststart(film, remuxed, MP4)
            film = remuxed
        info = probe_file(film, MP4)
        if info.kind != "video":
            raise PermanentError("assembly_failed", "The film made has no video stream.")
        poster = workdir / "poster.jpg"
        made = make_poster(
            film,
            poster,
            max_width=limits.poster_width,
            scan_seconds=limits.poster_scan_seconds,
        )
    except PermanentError as exc:
        if exc.code == "assembly_failed":
            raise
        raise PermanentError(
            "assembly_failed", f"The film made is not playable: {exc.message}"
        ) from exc
    if info.duration is not None and info.duration > limits.max_seconds:
        raise PermanentError(
            "assembly_failed",
            f"The film would last {info.duration:.1f} s, longer than the assembler's limit of "
            f"{limits.max_seconds:g} s.",
        )
    size, sha256 = file_sha256(film)
    if size > limits.max_bytes:
        raise PermanentError(
            "assembly_failed",
            f"The film is {size} bytes, larger than the assembler's limit of {limits.max_bytes}.",
        )
    return FinishedFilm(
        path=film, size=size, sha256=sha256, info=info, poster=poster if made else None
    )
