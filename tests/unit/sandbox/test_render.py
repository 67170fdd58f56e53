"""The renders are real media: PyAV decodes them with the codecs, sizes and length asked for."""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from reelhouse.sandbox.render import (
    ImageSpec,
    RenderStoppedError,
    VideoSpec,
    render_image,
    render_video,
)

SMALL = VideoSpec(
    prompt="a lighthouse in a storm", duration=1.0, width=160, height=90, fps=24, seed=7
)


def top_level_boxes(path: Path) -> list[str]:
    """The types of the MP4's top-level boxes, in file order."""
    data = path.read_bytes()
    boxes: list[str] = []
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            (size,) = struct.unpack(">Q", data[offset + 8 : offset + 16])
        elif size == 0:
            size = len(data) - offset
        boxes.append(kind.decode("latin-1"))
        offset += size
    return boxes


@pytest.fixture(scope="module")
def small_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("render") / "out.mp4"
    render_video(SMALL, target)
    return target


def test_video_has_h264_yuv420p_and_aac_streams(small_video: Path) -> None:
    with av.open(str(small_video)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0]
        assert video.codec_context.name == "h264"
        assert video.codec_context.pix_fmt == "yuv420p"
        assert audio.codec_context.name == "aac"


def test_video_has_requested_size_and_duration(small_video: Path) -> None:
    with av.open(str(small_video)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (160, 90)
        assert container.duration is not None
        assert container.duration / av.time_base == pytest.approx(SMALL.duration, abs=0.2)
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == 24


@pytest.mark.parametrize("duration", [2.0, 3.5])
def test_longer_video_duration_matches(tmp_path: Path, duration: float) -> None:
    spec = VideoSpec(prompt="waves", duration=duration, width=64, height=64, fps=12, seed=1)
    render_video(spec, tmp_path / "v.mp4")
    with av.open(str(tmp_path / "v.mp4")) as container:
        assert container.duration is not None
        assert container.duration / av.time_base == pytest.approx(duration, abs=0.2)


def test_video_moov_box_comes_before_mdat(small_video: Path) -> None:
    boxes = top_level_boxes(small_video)
    assert boxes[0] == "ftyp"
    assert boxes.index("moov") < boxes.index("mdat")


def test_video_frames_change_over_time(small_video: Path) -> None:
    with av.open(str(small_video)) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    first, middle, last = frames[0], frames[len(frames) // 2], frames[-1]
    assert np.abs(first.astype(int) - middle.astype(int)).mean() > 5
    assert np.abs(middle.astype(int) - last.astype(int)).mean() > 5


def test_video_render_reports_progress_up_to_every_frame(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    render_video(SMALL, tmp_path / "v.mp4", progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (24, 24)
    assert [done for done, _ in seen] == list(range(1, 25))


def test_stopped_render_raises_and_leaves_no_file(tmp_path: Path) -> None:
    calls = 0

    def stop_after_three() -> bool:
        nonlocal calls
        calls += 1
        return calls > 3

    with pytest.raises(RenderStoppedError):
        render_video(SMALL, tmp_path / "v.mp4", should_stop=stop_after_three)
    assert list(tmp_path.iterdir()) == []


def test_image_is_a_png_of_the_requested_size(tmp_path: Path) -> None:
    rendered = render_image(
        ImageSpec(prompt="a red kite", width=200, height=120, seed=3), tmp_path / "i.png"
    )
    assert rendered.content_type == "image/png"
    assert rendered.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(rendered.path) as image:
        assert image.size == (200, 120)


def test_a_video_without_faststart_has_moov_after_mdat(tmp_path: Path) -> None:
    spec = VideoSpec(prompt="late", duration=1.0, width=96, height=64, fps=12, seed=1)
    path = render_video(dataclasses.replace(spec, faststart=False), tmp_path / "late.mp4").path
    boxes = top_level_boxes(path)
    assert boxes.index("mdat") < boxes.index("moov")


def test_a_black_start_is_black_for_its_first_second_only(tmp_path: Path) -> None:
    spec = dataclasses.replace(SMALL, duration=2.0, fps=12, black_seconds=1.0)
    path = render_video(spec, tmp_path / "black.mp4").path
    with av.open(str(path)) as container:
        means = [float(f.to_ndarray(format="gray").mean()) for f in container.decode(video=0)]
    assert max(means[:12]) < 20
    assert min(means[12:]) > 40


def test_padding_grows_the_file_and_it_still_decodes(tmp_path: Path) -> None:
    target_bytes = 3_000_000
    path = render_video(dataclasses.replace(SMALL, pad_to_bytes=target_bytes), tmp_path / "big.mp4")
    assert path.size == target_bytes
    assert top_level_boxes(path.path)[-1] == "free"
    with av.open(str(path.path)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == 24
