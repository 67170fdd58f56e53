"""A crossfade blends each scene's end into the next one's start, shortening the film."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from structlog.testing import capture_logs

from reelhouse.common.composition_events import Transition
from tests.unit.assembler.film.clips import BLUE, GREEN, RED, Clip, write_clip
from tests.unit.assembler.film.films import film, frame_at, read_film

pytestmark = pytest.mark.timeout(60)


def _scenes(tmp_path: Path, seconds: float) -> list[Path]:
    return [
        write_clip(tmp_path / f"s{n}.mp4", Clip(colour=colour, seconds=seconds, box=False))
        for n, colour in enumerate([RED, BLUE, GREEN])
    ]


def test_crossfade_overlaps_neighbours_by_its_length(tmp_path: Path) -> None:
    scenes = _scenes(tmp_path, seconds=2.0)

    result, target = film(tmp_path, scenes, transition=Transition(type="crossfade", seconds=0.5))

    written = read_film(target)
    assert result.method == "reencode"
    assert written.frames == 3 * 24 - 2 * 6
    assert result.duration == pytest.approx(6.0 - 2 * 0.5, abs=2 / 12)
    assert written.video_seconds == pytest.approx(5.0, abs=2 / 12)


def test_middle_of_a_crossfade_is_half_of_each_scene(tmp_path: Path) -> None:
    scenes = _scenes(tmp_path, seconds=2.0)

    _, target = film(tmp_path, scenes, transition=Transition(type="crossfade", seconds=0.5))

    # red alone is frames 0 … 17, red→blue 18 … 23, blue alone 24 … 35
    before, middle, after = (frame_at(target, n).astype(int)[45, 80] for n in (9, 21, 30))
    halfway = (np.array(RED) + np.array(BLUE)) / 2
    assert np.abs(before - np.array(RED)).max() < 25
    assert np.abs(after - np.array(BLUE)).max() < 25
    assert np.abs(middle - halfway).max() < 30


def test_crossfade_longer_than_half_a_scene_is_clamped(tmp_path: Path) -> None:
    scenes = _scenes(tmp_path, seconds=1.0)

    with capture_logs() as logs:
        result, target = film(
            tmp_path, scenes, transition=Transition(type="crossfade", seconds=2.0)
        )

    clamped = [entry for entry in logs if entry["event"] == "film.crossfade_clamped"]
    assert len(clamped) == 2
    assert clamped[0]["seconds"] == pytest.approx(0.5)
    assert read_film(target).frames == 36 - 2 * 6
    assert result.duration == pytest.approx(2.0, abs=2 / 12)


def test_crossfade_of_zero_seconds_is_a_cut_and_copies(tmp_path: Path) -> None:
    scenes = _scenes(tmp_path, seconds=1.0)

    result, target = film(tmp_path, scenes, transition=Transition(type="crossfade", seconds=0))

    assert result.method == "copy"
    assert read_film(target).frames == 36
