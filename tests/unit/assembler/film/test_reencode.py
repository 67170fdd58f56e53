"""Scenes that differ from the film's format are decoded, fitted, re-timed and encoded again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reelhouse.common.composition_events import OutputFormat
from tests.unit.assembler.film.clips import BLUE, GREEN, RED, Clip, top_level_boxes, write_clip
from tests.unit.assembler.film.films import film, frame_at, read_film

pytestmark = pytest.mark.timeout(60)


def test_scenes_of_other_sizes_are_fitted_into_the_first_scenes_frame(tmp_path: Path) -> None:
    wide = write_clip(tmp_path / "wide.mp4", Clip(width=320, height=180, colour=RED))
    square = write_clip(tmp_path / "square.mp4", Clip(width=240, height=240, colour=GREEN))

    result, target = film(tmp_path, [wide, square])

    written = read_film(target)
    assert result.method == "reencode"
    assert (result.width, result.height) == (320, 180)
    assert written.sizes == {(320, 180)}
    assert written.frames == 24
    assert result.duration == pytest.approx(2.0, abs=1 / 12)
    boxes = top_level_boxes(target)
    assert boxes.index("moov") < boxes.index("mdat")


def test_a_square_scene_in_a_wide_film_is_pillarboxed_in_black(tmp_path: Path) -> None:
    wide = write_clip(tmp_path / "wide.mp4", Clip(width=320, height=180, colour=RED))
    square = write_clip(tmp_path / "square.mp4", Clip(width=240, height=240, colour=GREEN))

    _, target = film(tmp_path, [wide, square])

    pixels = frame_at(target, 18).astype(int)  # the square scene: 180 × 180 in the middle
    assert pixels[90, :60].max() < 40  # left bar
    assert pixels[90, -60:].max() < 40  # right bar
    assert np.abs(pixels[150, 160] - np.array(GREEN)).max() < 30


def test_scenes_at_other_rates_take_the_films_rate(tmp_path: Path) -> None:
    slow = write_clip(tmp_path / "slow.mp4", Clip(fps=10, seconds=1.0, colour=RED))
    fast = write_clip(tmp_path / "fast.mp4", Clip(fps=24, seconds=1.0, colour=BLUE))

    result, target = film(tmp_path, [slow, fast], output=OutputFormat(fps=15))

    written = read_film(target)
    assert result.method == "reencode"
    assert result.fps == 15.0
    assert written.fps == pytest.approx(15.0)
    assert written.frames == pytest.approx(30, abs=1)
    assert written.video_seconds == pytest.approx(2.0, abs=1 / 15)


def test_defaults_take_the_first_scenes_size_and_rate(tmp_path: Path) -> None:
    first = write_clip(tmp_path / "first.mp4", Clip(width=240, height=136, fps=10, colour=RED))
    second = write_clip(tmp_path / "second.mp4", Clip(width=160, height=90, fps=24))

    result, target = film(tmp_path, [first, second])

    written = read_film(target)
    assert (result.width, result.height, result.fps) == (240, 136, 10.0)
    assert (written.width, written.height) == (240, 136)
    assert written.fps == pytest.approx(10.0)
    assert written.frames == 20


def test_an_asked_size_and_rate_re_encode_even_matching_scenes(tmp_path: Path) -> None:
    scenes = [write_clip(tmp_path / f"s{n}.mp4", Clip()) for n in range(2)]

    result, target = film(tmp_path, scenes, output=OutputFormat(width=320, height=180, fps=24))

    written = read_film(target)
    assert result.method == "reencode"
    assert written.sizes == {(320, 180)}
    assert written.frames == 48


def test_a_webm_scene_joins_an_mp4_one(tmp_path: Path) -> None:
    mp4 = write_clip(tmp_path / "a.mp4", Clip(colour=RED))
    webm = write_clip(tmp_path / "b.webm", Clip(colour=BLUE, codec="libvpx-vp9"))

    result, target = film(tmp_path, [mp4, webm])

    written = read_film(target)
    assert result.method == "reencode"  # VP9 packets do not join H.264 ones
    assert written.frames == 24
    assert np.abs(frame_at(target, 18).astype(int)[80, 80] - np.array(BLUE)).max() < 30
