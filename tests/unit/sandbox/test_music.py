"""The music model's tune: chosen by prompt and seed, of the asked length, and free of clicks."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from pydantic import ValidationError

from reelhouse.sandbox.models import MODELS, TextToMusicInput
from reelhouse.sandbox.music import MUSIC_RATE, MusicSpec, melody, note_samples, render_music
from reelhouse.sandbox.render import RenderStoppedError

pytestmark = pytest.mark.timeout(60)


def test_the_same_prompt_and_seed_play_the_same_tune() -> None:
    spec = MusicSpec(prompt="a calm sea", duration=6, seed=1)

    assert list(melody(spec)) == list(melody(spec))
    assert list(melody(spec)) != list(melody(MusicSpec("a calm sea", 6, seed=2)))
    assert list(melody(spec)) != list(melody(MusicSpec("a stormy sea", 6, seed=1)))


@pytest.mark.parametrize("duration", [1, 7, 300])
def test_the_notes_fill_exactly_the_duration(duration: int) -> None:
    notes = list(melody(MusicSpec(prompt="waltz", duration=duration, seed=3)))

    assert sum(note.samples for note in notes) == duration * MUSIC_RATE
    assert len({note.melody_hz for note in notes}) > 1 or duration == 1


def test_each_note_starts_and_ends_in_silence() -> None:
    # a jump from sound to silence (or back) between samples is what a listener hears as a click
    for note in melody(MusicSpec(prompt="bells", duration=3, seed=9)):
        samples = note_samples(note)
        assert samples.shape == (2, note.samples)
        assert np.abs(samples[:, 0]).max() < 0.01
        assert np.abs(samples[:, -1]).max() < 0.01
        assert np.abs(samples).max() < 1.0


def test_render_writes_stereo_aac_in_m4a(tmp_path: Path) -> None:
    target = tmp_path / "out.m4a"
    seen: list[tuple[int, int]] = []

    rendered = render_music(
        MusicSpec(prompt="a march", duration=3, seed=4),
        target,
        progress=lambda done, total: seen.append((done, total)),
        should_stop=lambda: False,
    )

    assert rendered.content_type == "audio/mp4"
    assert target.read_bytes()[4:12] == b"ftypM4A "
    with av.open(str(target)) as container:
        stream = container.streams.audio[0]
        assert (stream.codec_context.name, stream.rate, stream.channels) == ("aac", MUSIC_RATE, 2)
        decoded = np.concatenate([f.to_ndarray() for f in container.decode(stream)], axis=1)
    assert decoded.shape[1] / MUSIC_RATE == pytest.approx(3, abs=1024 / MUSIC_RATE)
    assert np.sqrt(np.mean(decoded**2)) > 0.02  # audible, not silence
    assert seen[-1] == (3 * MUSIC_RATE, 3 * MUSIC_RATE)


def test_a_stopped_render_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "out.m4a"

    with pytest.raises(RenderStoppedError):
        render_music(
            MusicSpec(prompt="stop", duration=5, seed=1),
            target,
            progress=lambda _done, _total: None,
            should_stop=lambda: True,
        )

    assert list(tmp_path.iterdir()) == []


def test_music_input_takes_whole_seconds_from_1_to_300() -> None:
    assert TextToMusicInput(prompt="x").duration == 10
    for bad in (0, 301, 2.5):
        with pytest.raises(ValidationError):
            TextToMusicInput.model_validate({"prompt": "x", "duration": bad})
    job = MODELS["sandbox/text-to-music"].build_job(TextToMusicInput(prompt="x", seed=1))
    assert job.output_name == "output.m4a"
