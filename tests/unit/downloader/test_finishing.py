"""Ready to play: ``moov`` moved to the front without re-encoding; a poster that is not black."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from PIL import Image

from reelhouse.common.media.faststart import needs_faststart, remux_faststart, top_level_boxes
from reelhouse.common.media.poster import make_poster
from reelhouse.common.media.sniff import MP4, PNG
from tests.unit.downloader.samples import write_mp4


def payloads(path: Path) -> list[tuple[str, int | None, bytes]]:
    with av.open(str(path), mode="r") as container:
        found = [(p.stream.type, p.dts, bytes(p)) for p in container.demux() if p.dts is not None]
    return sorted(found, key=lambda p: (p[0], p[1] or 0))


def test_a_trailing_moov_is_detected_and_moved_first_with_the_same_packets(
    tmp_path: Path,
) -> None:
    late = write_mp4(tmp_path / "late.mp4", seconds=1.0)
    early = write_mp4(tmp_path / "early.mp4", seconds=1.0, faststart=True)
    assert needs_faststart(late, MP4)
    assert not needs_faststart(early, MP4)
    assert not needs_faststart(late, PNG)

    out = tmp_path / "out.mp4"
    copied = remux_faststart(late, out, MP4)

    boxes = top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat")
    assert payloads(out) == payloads(late)
    assert copied == len(payloads(late))


def test_the_poster_skips_black_frames_and_is_bounded_in_width(tmp_path: Path) -> None:
    video = write_mp4(tmp_path / "fade.mp4", seconds=2.0, width=320, height=240, black_frames=30)
    target = tmp_path / "poster.jpg"

    poster = make_poster(video, target, max_width=128, scan_seconds=5.0)

    assert poster is not None
    assert poster.at >= 30 / 24 - 0.01
    with Image.open(target) as image:
        assert (image.format, image.size) == ("JPEG", (128, 96))
        assert np.percentile(np.asarray(image.convert("L")), 99) > 40


def test_an_all_black_start_beyond_the_scan_falls_back_to_the_first_frame(
    tmp_path: Path,
) -> None:
    video = write_mp4(tmp_path / "dark.mp4", seconds=1.0, black_frames=24)

    poster = make_poster(video, tmp_path / "p.jpg", max_width=640, scan_seconds=0.2)

    assert poster is not None
    assert poster.at == 0.0
    with Image.open(tmp_path / "p.jpg") as image:
        assert image.size == (64, 48)  # never enlarged
