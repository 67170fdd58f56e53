"""Stored outputs are ready to play: ``moov`` first, a poster that is not black, and proof."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from reelhouse.common.events import GenerationFailed, GenerationStored
from reelhouse.common.settings import StorageSettings
from tests.e2e.media_checks import top_level_boxes
from tests.integration.downloader.conftest import RunDownloader
from tests.integration.downloader.jobs import output_ready
from tests.integration.downloader.observations import JetStreamEvents
from tests.integration.downloader.origin import Origin, Route
from tests.integration.downloader.test_ingest_flow import OUTCOME, fails_with, read_object
from tests.unit.downloader.samples import write_mp4

Packet = tuple[str, int | None, int | None, bytes]


def packets(data: bytes) -> list[Packet]:
    """Every audio and video packet: stream type, pts, dts and payload, in file order per type."""
    with av.open(io.BytesIO(data), mode="r") as container:
        found = [
            (p.stream.type, p.pts, p.dts, bytes(p))
            for p in container.demux()
            if p.dts is not None and p.stream.type in ("audio", "video")
        ]
    return sorted(found, key=lambda p: (p[0], p[2] or 0))


@pytest.fixture(scope="module")
def moov_at_end(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Two seconds whose first second is black, ``moov`` after ``mdat``, 320×240."""
    path = tmp_path_factory.mktemp("media") / "late-moov.mp4"
    return write_mp4(path, seconds=2.0, width=320, height=240, black_frames=24).read_bytes()


async def test_moov_at_end_is_stored_moov_first_with_identical_packets_and_a_poster(
    origin: Origin,
    events: JetStreamEvents,
    run_downloader: RunDownloader,
    storage: StorageSettings,
    moov_at_end: bytes,
) -> None:
    boxes = top_level_boxes(moov_at_end)
    assert boxes.index("mdat") < boxes.index("moov")
    event = output_ready(origin.serve("/late.mp4", Route(moov_at_end)))

    async with run_downloader(poster_width=160):
        await events.publish(event)
        outcome = await events.wait_for(OUTCOME, event.job_id)

    assert isinstance(outcome, GenerationStored), outcome
    [asset] = outcome.assets
    stored = await read_object(storage, asset.key)
    stored_boxes = top_level_boxes(stored)
    assert stored_boxes.index("moov") < stored_boxes.index("mdat")
    assert packets(stored) == packets(moov_at_end)
    assert (asset.size, asset.sha256) == (len(stored), hashlib.sha256(stored).hexdigest())

    assert asset.poster_key == f"posters/{event.job_id}/0.jpg"
    with Image.open(io.BytesIO(await read_object(storage, asset.poster_key))) as poster:
        assert poster.format == "JPEG"
        assert poster.size == (160, 120)
        grey = np.asarray(poster.convert("L"))
    assert np.percentile(grey, 99) > 40  # the black first second was skipped


async def test_an_image_gets_no_poster(
    origin: Origin, events: JetStreamEvents, run_downloader: RunDownloader, tmp_path: Path
) -> None:
    png = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 30)).save(png, format="PNG")
    event = output_ready(origin.serve("/still.png", Route(png.getvalue(), "image/png")))

    async with run_downloader():
        await events.publish(event)
        outcome = await events.wait_for(OUTCOME, event.job_id)

    assert isinstance(outcome, GenerationStored), outcome
    assert outcome.assets[0].poster_key is None
    assert (outcome.assets[0].width, outcome.assets[0].height) == (40, 30)


async def test_bytes_that_look_like_mp4_but_do_not_decode_fail_corrupt_media(
    origin: Origin, events: JetStreamEvents, run_downloader: RunDownloader, sample_mp4: bytes
) -> None:
    garbled = sample_mp4[:32] + bytes(range(256)) * 64
    url = origin.serve("/garbled.mp4", Route(garbled))

    failed = await fails_with(events, url, run_downloader)

    assert isinstance(failed, GenerationFailed)
    assert failed.error.code == "corrupt_media"
    assert "video/mp4" in failed.error.message
