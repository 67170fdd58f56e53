"""The film has one continuous audio track: the bed, faded and trimmed, or the scenes' own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from reelhouse.common.composition_events import Transition
from tests.unit.assembler.film.clips import Clip, write_clip, write_tone
from tests.unit.assembler.film.films import audio_samples, film, read_film, rms

pytestmark = pytest.mark.timeout(60)

EDGE = 2_400  # 50 ms at 48 kHz


def test_bed_longer_than_the_film_is_trimmed_and_faded(tmp_path: Path) -> None:
    scenes = [write_clip(tmp_path / f"s{n}.mp4", Clip(tone_hz=1000.0)) for n in range(3)]
    bed = write_tone(tmp_path / "bed.m4a", seconds=5.0)

    result, target = film(tmp_path, scenes, audio=bed)

    written = read_film(target)
    samples = audio_samples(target)
    assert result.method == "copy"  # the video is still copied
    assert written.audio_streams == 1
    assert written.audio_seconds == pytest.approx(result.duration, abs=0.05)
    middle = rms(samples[len(samples) // 2 - EDGE : len(samples) // 2 + EDGE])
    assert middle > 0.2
    assert rms(samples[:EDGE]) < middle / 5
    assert rms(samples[-EDGE:]) < middle / 5


def test_bed_shorter_than_the_film_ends_early_with_its_fade(tmp_path: Path) -> None:
    scenes = [write_clip(tmp_path / f"s{n}.mp4", Clip(seconds=1.5)) for n in range(2)]
    bed = write_tone(tmp_path / "bed.mp3", seconds=1.0)

    result, target = film(tmp_path, scenes, audio=bed)

    samples = audio_samples(target)
    written = read_film(target)
    assert written.audio_streams == 1
    assert result.duration == pytest.approx(3.0, abs=1 / 12)
    assert written.audio_seconds == pytest.approx(3.0, abs=0.05)  # silence to the end
    heard = samples[:48_000]
    middle = rms(heard[24_000 - EDGE : 24_000 + EDGE])
    assert middle > 0.2
    assert rms(heard[-EDGE:]) < middle / 5
    assert rms(samples[48_000 + EDGE :]) < 0.01


def test_wav_bed_under_a_crossfaded_film(tmp_path: Path) -> None:
    scenes = [write_clip(tmp_path / f"s{n}.mp4", Clip(seconds=2.0)) for n in range(2)]
    bed = write_tone(tmp_path / "bed.wav", seconds=4.0)

    result, target = film(
        tmp_path, scenes, audio=bed, transition=Transition(type="crossfade", seconds=0.5)
    )

    written = read_film(target)
    assert written.audio_streams == 1
    assert written.audio_seconds == pytest.approx(result.duration, abs=0.05)
    assert result.duration == pytest.approx(3.5, abs=2 / 12)


def test_without_bed_scenes_with_audio_are_joined_into_one_track(tmp_path: Path) -> None:
    scenes = [
        write_clip(tmp_path / "a.mp4", Clip(tone_hz=440.0, seconds=1.0)),
        write_clip(tmp_path / "b.mp4", Clip(tone_hz=660.0, seconds=1.5, width=240, height=240)),
    ]

    _, target = film(tmp_path, scenes)

    written = read_film(target)
    samples = audio_samples(target)
    assert written.audio_streams == 1
    assert written.audio_seconds == pytest.approx(2.5, abs=0.05)
    assert rms(samples[12_000:36_000]) > 0.15  # the first scene's tone
    assert rms(samples[72_000:96_000]) > 0.15  # the second's


def test_without_bed_a_scene_without_audio_leaves_the_film_silent(tmp_path: Path) -> None:
    scenes = [
        write_clip(tmp_path / "a.mp4", Clip(tone_hz=440.0)),
        write_clip(tmp_path / "b.mp4", Clip()),
    ]

    _, target = film(tmp_path, scenes)

    assert read_film(target).audio_streams == 0


def test_without_bed_silent_scenes_make_a_silent_film(tmp_path: Path) -> None:
    scenes = [write_clip(tmp_path / f"s{n}.mp4", Clip()) for n in range(2)]

    result, target = film(tmp_path, scenes)

    written = read_film(target)
    assert written.audio_streams == 0
    assert written.video_streams == 1
    assert result.method == "copy"


def _level_at(samples: npt.NDArray[np.float32], seconds: float, hz: float) -> float:
    """The amplitude of the ``hz`` sine in the 100 ms around ``seconds``."""
    window = samples[round((seconds - 0.05) * 48_000) : round((seconds + 0.05) * 48_000)]
    n = np.arange(len(window))
    probe = np.exp(-2j * np.pi * hz * n / 48_000)
    return float(2 * abs(np.sum(window * probe)) / len(window))


def test_crossfaded_scenes_audio_is_mixed_across_the_overlap(tmp_path: Path) -> None:
    scenes = [
        write_clip(tmp_path / "a.mp4", Clip(tone_hz=500.0, seconds=2.0)),
        write_clip(tmp_path / "b.mp4", Clip(tone_hz=800.0, seconds=2.0)),
    ]

    result, target = film(tmp_path, scenes, transition=Transition(type="crossfade", seconds=1.0))

    samples = audio_samples(target)
    assert result.duration == pytest.approx(3.0, abs=1 / 12)
    assert len(samples) / 48_000 == pytest.approx(3.0, abs=0.05)
    # the overlap is 1.0 … 2.0 s: the first tone alone before, both in the middle, the second after
    assert _level_at(samples, 0.5, 500.0) == pytest.approx(0.3, abs=0.05)
    assert _level_at(samples, 0.5, 800.0) < 0.03
    assert _level_at(samples, 1.5, 500.0) == pytest.approx(0.15, abs=0.05)
    assert _level_at(samples, 1.5, 800.0) == pytest.approx(0.15, abs=0.05)
    assert _level_at(samples, 2.5, 800.0) == pytest.approx(0.3, abs=0.05)
    assert _level_at(samples, 2.5, 500.0) < 0.03
