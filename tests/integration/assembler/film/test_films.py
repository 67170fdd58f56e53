"""Films of realistic size: a 640×360 three-scene film both ways, and memory that stays flat."""

from __future__ import annotations

import dataclasses
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from reelhouse.common.composition_events import OutputFormat, Transition
from tests.unit.assembler.film.clips import (
    BLUE,
    GREEN,
    RED,
    Clip,
    top_level_boxes,
    write_clip,
    write_tone,
)
from tests.unit.assembler.film.films import film, keyframe_times, read_film

pytestmark = pytest.mark.timeout(120)

SCENE = Clip(width=640, height=360, fps=24, seconds=3.0, tone_hz=330.0)


@pytest.fixture
def scenes(tmp_path: Path) -> list[Path]:
    return [
        write_clip(tmp_path / f"scene{n}.mp4", dataclasses.replace(SCENE, colour=colour))
        for n, colour in enumerate([RED, BLUE, GREEN])
    ]


def test_three_scenes_copied_under_a_bed(tmp_path: Path, scenes: list[Path]) -> None:
    bed = write_tone(tmp_path / "bed.m4a", seconds=12.0)

    result, target = film(tmp_path, scenes, audio=bed)

    written = read_film(target)
    assert result.method == "copy"
    assert written.frames == 3 * 72
    assert (written.video_streams, written.audio_streams) == (1, 1)
    assert written.audio_seconds == pytest.approx(9.0, abs=0.05)
    boxes = top_level_boxes(target)
    assert boxes.index("moov") < boxes.index("mdat")


def test_three_scenes_crossfaded_into_a_smaller_film(tmp_path: Path, scenes: list[Path]) -> None:
    bed = write_tone(tmp_path / "bed.m4a", seconds=12.0)

    result, target = film(
        tmp_path,
        scenes,
        audio=bed,
        transition=Transition(type="crossfade", seconds=1.0),
        output=OutputFormat(width=480, height=270, fps=25),
    )

    written = read_film(target)
    assert result.method == "reencode"
    assert written.sizes == {(480, 270)}
    assert written.frames == 3 * 75 - 2 * 25
    assert written.audio_seconds == pytest.approx(7.0, abs=0.05)
    keyframes = keyframe_times(target)
    assert keyframes[0] == 0.0
    assert max(b - a for a, b in itertools.pairwise([*keyframes, 7.0])) <= 2.0


MEASURE = """
import json, resource, sys
from pathlib import Path
from reelhouse.assembler.film import assemble_film
from reelhouse.common.composition_events import OutputFormat, Transition
scenes = [Path(p) for p in sys.argv[1:-1]]
work = Path(sys.argv[-1])
assemble_film(
    scenes=scenes, audio=None, transition=Transition(type="crossfade", seconds=0.5),
    output=OutputFormat(), target=work / "film.mp4", workdir=work / "scratch",
)
print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
"""


def _peak_kib(scenes: list[Path], work: Path) -> int:
    work.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *map(str, scenes), str(work)],
        capture_output=True,
        text=True,
        timeout=100,
        check=True,
    )
    peak: int = json.loads(done.stdout.strip().splitlines()[-1])
    return peak


def test_memory_does_not_grow_with_the_number_of_scenes(tmp_path: Path) -> None:
    # 2 s at 320×180, 24 fps: 48 decoded RGB frames (8 MiB) per scene if they were all kept
    clip = Clip(width=320, height=180, fps=24, seconds=2.0)
    scenes = [write_clip(tmp_path / f"s{n}.mp4", clip) for n in range(8)]

    two = _peak_kib(scenes[:2], tmp_path / "two")
    eight = _peak_kib(scenes, tmp_path / "eight")

    assert eight - two < 24 * 1024  # six more scenes kept whole would add ~48 MiB
