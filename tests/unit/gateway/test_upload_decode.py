"""Uploads are what their first bytes say and decode for real; images lose their metadata."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from PIL import Image

from reelhouse.gateway.problems import ProblemError
from reelhouse.gateway.uploads.decode import check_file
from reelhouse.gateway.uploads.sniff import (
    GIF,
    JPEG,
    M4A,
    MP3,
    MP4,
    PNG,
    WAV,
    WEBM,
    WEBP,
    MediaType,
    sniff,
)
from tests.unit.downloader.samples import image_bytes, write_m4a, write_mp4
from tests.unit.gateway.upload_samples import (
    MAKE,
    ORIENTATION,
    animated_gif,
    audio_bytes,
    bomb_png,
    jpeg_with_exif,
    png_bytes,
)

MAX_PIXELS = 1_000_000


def _write(tmp_path: Path, data: bytes, name: str = "in") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_magic_bytes_name_the_accepted_types(tmp_path: Path) -> None:
    assert sniff(image_bytes("JPEG")[:64]) is JPEG
    assert sniff(image_bytes("PNG")[:64]) is PNG
    assert sniff(image_bytes("WEBP")[:64]) is WEBP
    assert sniff(image_bytes("GIF")[:64]) is GIF
    assert sniff(write_mp4(tmp_path / "a.mp4", audio=False).read_bytes()[:64]) is MP4
    webm = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\x82\x84webm"
    assert sniff(webm) is WEBM
    assert sniff(audio_bytes("m4a")[:64]) is M4A
    assert sniff(audio_bytes("mp3")[:64]) is MP3
    assert sniff(b"\xff\xfb\x90\x64" + bytes(60)) is MP3  # an MP3 without an ID3 tag
    assert sniff(audio_bytes("wav")[:64]) is WAV


@pytest.mark.parametrize(
    "head",
    [
        b"hello, this is a text file\n",
        b"%PDF-1.7\n",
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00",  # a HEIF still image
        b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01matroska",  # Matroska, not WebM
        b"\xff\xf1\x50\x80\x02\x1f\xfc",  # raw ADTS AAC (layer bits 00)
        b"RIFF\x24\x00\x00\x00AVI LIST",  # RIFF, but neither WAVE nor WEBP
        b"",
    ],
)
def test_anything_else_is_not_sniffed(head: bytes) -> None:
    assert sniff(head) is None


def test_exif_is_stripped_and_the_orientation_applied(tmp_path: Path) -> None:
    source = _write(tmp_path, jpeg_with_exif(width=40, height=20))
    with Image.open(source) as original:
        assert original.getexif()[MAKE] == "SecretCam GPS-Leaker"

    checked = check_file(source, JPEG, max_pixels=MAX_PIXELS, out=tmp_path / "out")

    assert checked.media is JPEG
    # orientation 6 turned the 40×20 pixels upright: 20×40
    assert (checked.width, checked.height) == (20, 40)
    stored = checked.path.read_bytes()
    assert b"SecretCam" not in stored
    assert b"Exif" not in stored
    with Image.open(checked.path) as clean:
        assert clean.format == "JPEG"
        assert clean.size == (20, 40)
        assert MAKE not in clean.getexif()
        assert ORIENTATION not in clean.getexif()


@pytest.mark.parametrize(("fmt", "media"), [("PNG", PNG), ("WEBP", WEBP)])
def test_png_and_webp_keep_their_format(tmp_path: Path, fmt: str, media: object) -> None:
    source = _write(tmp_path, image_bytes(fmt, width=30, height=10))
    checked = check_file(source, media, max_pixels=MAX_PIXELS, out=tmp_path / "out")  # type: ignore[arg-type]
    assert checked.media is media
    assert (checked.width, checked.height, checked.duration) == (30, 10, None)
    with Image.open(checked.path) as clean:
        assert clean.format == fmt


def test_a_gif_becomes_a_png_of_its_first_frame(tmp_path: Path) -> None:
    source = _write(tmp_path, animated_gif())
    checked = check_file(source, GIF, max_pixels=MAX_PIXELS, out=tmp_path / "out")
    assert checked.media is PNG
    with Image.open(checked.path) as clean:
        assert clean.format == "PNG"
        assert getattr(clean, "n_frames", 1) == 1
        red, _, blue = clean.convert("RGB").getpixel((8, 8))  # type: ignore[misc]
        assert red > 200
        assert blue < 50


@pytest.mark.parametrize("side", [5_000, 20_000])
def test_a_decompression_bomb_is_refused_before_decoding(tmp_path: Path, side: int) -> None:
    source = _write(tmp_path, bomb_png(side, side))
    assert source.stat().st_size < 100_000
    with pytest.raises(ProblemError) as refused:
        check_file(source, PNG, max_pixels=MAX_PIXELS, out=tmp_path / "out")
    assert refused.value.code == "upload_too_large"
    assert "pixels" in refused.value.detail
    assert not (tmp_path / "out").exists()


def test_a_truncated_png_is_corrupt(tmp_path: Path) -> None:
    whole = png_bytes(64, 64)
    source = _write(tmp_path, whole[: len(whole) // 2])
    with pytest.raises(ProblemError) as refused:
        check_file(source, PNG, max_pixels=MAX_PIXELS, out=tmp_path / "out")
    assert refused.value.code == "corrupt_media"


def test_a_png_signature_on_garbage_is_corrupt(tmp_path: Path) -> None:
    source = _write(tmp_path, b"\x89PNG\r\n\x1a\n" + b"garbage" * 100)
    with pytest.raises(ProblemError) as refused:
        check_file(source, PNG, max_pixels=MAX_PIXELS, out=tmp_path / "out")
    assert refused.value.code == "corrupt_media"


def test_a_video_is_decoded_and_described(tmp_path: Path) -> None:
    source = write_mp4(tmp_path / "clip.mp4", seconds=1.0, width=64, height=48, audio=False)
    checked = check_file(source, MP4, max_pixels=MAX_PIXELS, out=tmp_path / "out")
    assert checked.path == source  # stored as received
    assert (checked.width, checked.height) == (64, 48)
    assert checked.duration is not None
    assert 0.5 < checked.duration < 1.5


def test_a_truncated_video_is_corrupt(tmp_path: Path) -> None:
    whole = write_mp4(tmp_path / "clip.mp4", seconds=1.0, audio=False).read_bytes()
    source = _write(tmp_path, whole[:200], "cut.mp4")
    with pytest.raises(ProblemError) as refused:
        check_file(source, MP4, max_pixels=MAX_PIXELS, out=tmp_path / "out")
    assert refused.value.code == "corrupt_media"


@pytest.mark.parametrize(("extension", "media"), [("m4a", M4A), ("mp3", MP3), ("wav", WAV)])
def test_audio_is_decoded_and_timed(tmp_path: Path, extension: str, media: MediaType) -> None:
    source = _write(tmp_path, audio_bytes(extension, seconds=2.0), f"tone.{extension}")

    checked = check_file(source, media, max_pixels=MAX_PIXELS, out=tmp_path / "out")

    assert checked.path == source  # stored as received
    assert checked.media is media
    assert checked.media.kind == "audio"
    assert (checked.width, checked.height) == (None, None)
    assert checked.duration == pytest.approx(2.0, abs=0.1)


def test_an_mp4_with_only_audio_is_m4a(tmp_path: Path) -> None:
    source = write_m4a(tmp_path / "tone.mp4", seconds=1.0)

    checked = check_file(source, MP4, max_pixels=MAX_PIXELS, out=tmp_path / "out")

    assert checked.media is M4A
    assert checked.duration == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize(
    ("head", "media"),
    [
        (b"ID3\x03\x00\x00\x00\x00\x00\x00", MP3),
        (b"\xff\xfb\x90\x00", MP3),
        (b"RIFF\x00\x10\x00\x00WAVE", WAV),
        (b"\x00\x00\x00\x1cftypM4A \x00\x00\x02\x00M4A isomiso2", M4A),
    ],
)
def test_an_audio_signature_on_garbage_is_corrupt(
    tmp_path: Path, head: bytes, media: MediaType
) -> None:
    source = _write(tmp_path, head + random.Random(1).randbytes(5000))
    assert sniff(source.read_bytes()[:64]) is media

    with pytest.raises(ProblemError) as refused:
        check_file(source, media, max_pixels=MAX_PIXELS, out=tmp_path / "out")

    assert refused.value.code == "corrupt_media"
    assert media.content_type in refused.value.detail
