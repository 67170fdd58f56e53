"""Scenes whose video streams match the film's are joined packet by packet, not re-encoded."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from reelhouse.common.composition_events import OutputFormat
from tests.unit.assembler.film.clips import BLUE, GREEN, RED, Clip, top_level_boxes, write_clip
from tests.unit.assembler.film.films import film, read_film, video_dts

pytestmark = pytest.mark.timeout(60)


def test_matching_scenes_with_a_cut_are_copied_back_to_back(tmp_path: Path) -> None:
    scenes = [
        write_clip(tmp_path / f"s{n}.mp4", Clip(colour=colour, seconds=seconds))
        for n, (colour, seconds) in enumerate([(RED, 1.0), (BLUE, 1.5), (GREEN, 1.0)])
    ]

    result, target = film(tmp_path, scenes)

    written = read_film(target)
    assert result.method == "copy"
    assert (result.width, result.height, result.fps) == (160, 90, 12.0)
    assert written.frames == 12 + 18 + 12
    assert result.duration == pytest.approx(3.5, abs=2 / 12)
    assert written.video_seconds == pytest.approx(3.5, abs=2 / 12)
    assert written.sizes == {(160, 90)}


def test_copied_film_has_rising_decoding_timestamps(tmp_path: Path) -> None:
    scenes = [write_clip(tmp_path / f"s{n}.mp4", Clip(colour=RED)) for n in range(3)]

    _, target = film(tmp_path, scenes)

    dts = video_dts(target)
    assert len(dts) == 36
    assert all(later > earlier for earlier, later in itertools.pairwise(dts))


def test_film_is_written_moov_first(tmp_path: Path) -> None:
    scenes = [write_clip(tmp_path / f"s{n}.mp4", Clip()) for n in range(2)]

    _, target = film(tmp_path, scenes)

    boxes = top_level_boxes(target)
    assert boxes.index("moov") < boxes.index("mdat")


def test_output_naming_the_scenes_own_format_still_copies(tmp_path: Path) -> None:
    scenes = [write_clip(tmp_path / f"s{n}.mp4", Clip()) for n in range(2)]

    result, _ = film(tmp_path, scenes, output=OutputFormat(width=160, height=90, fps=12))

    assert result.method == "copy"


def test_scratch_files_stay_in_the_workdir(tmp_path: Path) -> None:
    scenes = [write_clip(tmp_path / f"s{n}.mp4", Clip()) for n in range(2)]
    before = set(tmp_path.iterdir())

    film(tmp_path, scenes)

    added = set(tmp_path.iterdir()) - before
    assert {path.name for path in added} == {"film.mp4", "work-film.mp4"}


def test_planning_and_writing_are_logged(tmp_path: Path) -> None:
    scenes = [write_clip(tmp_path / f"s{n}.mp4", Clip()) for n in range(2)]

    with capture_logs() as logs:
        _, target = film(tmp_path, scenes)

    events = {entry["event"]: entry for entry in logs}
    assert events["film.planned"]["method"] == "copy"
    assert events["film.written"]["bytes"] == target.stat().st_size
    assert events["film.written"]["duration"] == pytest.approx(2.0, abs=1 / 12)
