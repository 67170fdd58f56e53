"""Scenes or a track that cannot be used fail with a FilmError naming what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelhouse.assembler.film import FilmError
from tests.unit.assembler.film.clips import Clip, write_clip, write_tone
from tests.unit.assembler.film.films import film

pytestmark = pytest.mark.timeout(60)


def test_a_scene_that_is_not_media_is_named(tmp_path: Path) -> None:
    good = write_clip(tmp_path / "good.mp4", Clip())
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"<html>not a film</html>" * 100)

    with pytest.raises(FilmError, match="scene 1"):
        film(tmp_path, [good, bad])
    assert not (tmp_path / "film.mp4").exists()


def test_a_scene_without_video_is_named(tmp_path: Path) -> None:
    good = write_clip(tmp_path / "good.mp4", Clip())
    sound = write_tone(tmp_path / "sound.m4a", seconds=1.0)

    with pytest.raises(FilmError, match="scene 2 has no video stream"):
        film(tmp_path, [good, good, sound])


def test_a_truncated_scene_is_named(tmp_path: Path) -> None:
    good = write_clip(tmp_path / "good.mp4", Clip())
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(good.read_bytes()[:600])

    with pytest.raises(FilmError, match="scene 0"):
        film(tmp_path, [cut, good])


def test_no_scenes_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FilmError, match="at least one scene"):
        film(tmp_path, [])


def test_a_track_that_is_not_audio_is_an_error(tmp_path: Path) -> None:
    scene = write_clip(tmp_path / "scene.mp4", Clip())
    track = tmp_path / "track.mp3"
    track.write_bytes(b"\x00garbage" * 500)

    with pytest.raises(FilmError, match="audio track"):
        film(tmp_path, [scene], audio=track)
    assert not (tmp_path / "work-film.mp4" / "video.mp4").exists()  # failed before the pictures


def test_a_track_without_audio_is_an_error(tmp_path: Path) -> None:
    scene = write_clip(tmp_path / "scene.mp4", Clip())

    with pytest.raises(FilmError, match="audio track has no audio stream"):
        film(tmp_path, [scene], audio=scene)
