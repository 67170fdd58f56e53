"""The decode probe reads what a real file is and refuses what does not decode."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from reelhouse.common.errors import PermanentError
from reelhouse.common.media.probe import probe, probe_file
from reelhouse.common.media.sniff import M4A, MP4, PNG, WEBM, sniff
from tests.unit.downloader.samples import image_bytes, write_m4a, write_mp4


@pytest.fixture(scope="module")
def mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_mp4(
        tmp_path_factory.mktemp("probe") / "clip.mp4", seconds=1.0, width=64, height=48
    )


def test_probe_reads_a_real_mp4(mp4: Path) -> None:
    info = probe_file(mp4, MP4)

    assert info.kind == "video"
    assert (info.width, info.height) == (64, 48)
    assert info.fps == 24.0
    assert info.video_codec == "h264"
    assert info.audio_codec == "aac"
    assert info.duration is not None
    assert 0.9 <= info.duration <= 1.2
    assert info.bit_rate is not None
    assert info.bit_rate > 0


async def test_probe_runs_off_the_event_loop(mp4: Path) -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(tick())
    try:
        info = await probe(mp4, MP4)
    finally:
        ticker.cancel()
    assert info.video_codec == "h264"
    assert ticks > 0


def test_an_audio_only_mp4_is_audio(tmp_path: Path) -> None:
    path = write_m4a(tmp_path / "voice.mp4")
    media = sniff(path.read_bytes()[:64])
    assert media in (MP4, M4A)
    assert media is not None

    info = probe_file(path, media)

    assert info.kind == "audio"
    assert info.audio_codec == "aac"
    assert info.video_codec is None
    assert (info.width, info.height, info.fps) == (None, None, None)


def test_an_image_has_dimensions_and_no_duration(tmp_path: Path) -> None:
    path = tmp_path / "still.png"
    path.write_bytes(image_bytes("PNG", width=40, height=30))

    info = probe_file(path, PNG)

    assert info.kind == "image"
    assert (info.width, info.height) == (40, 30)
    assert info.video_codec == "png"
    assert (info.duration, info.fps, info.bit_rate) == (None, None, None)


def test_a_cut_mp4_is_corrupt(mp4: Path, tmp_path: Path) -> None:
    data = mp4.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 3])

    with pytest.raises(PermanentError) as caught:
        probe_file(cut, MP4)

    assert caught.value.code == "corrupt_media"
    assert "video/mp4" in caught.value.message
    assert str(tmp_path) not in caught.value.message


def test_magic_bytes_followed_by_garbage_are_corrupt(tmp_path: Path) -> None:
    fake = tmp_path / "fake.webm"
    fake.write_bytes(b"\x1a\x45\xdf\xa3" + b"\x42\x82\x84webm" + bytes(range(256)) * 8)

    with pytest.raises(PermanentError) as caught:
        probe_file(fake, WEBM)

    assert caught.value.code == "corrupt_media"
