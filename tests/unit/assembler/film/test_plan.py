"""The plan copies only scenes that are exactly the film's stream; the arithmetic around it."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from reelhouse.assembler.film.audio_out import fade_gain
from reelhouse.assembler.film.crossfade import overlaps, segments
from reelhouse.assembler.film.inputs import SceneInfo
from reelhouse.assembler.film.normalise import fitted_size
from reelhouse.assembler.film.plan import plan_film
from reelhouse.common.composition_events import OutputFormat, Transition

pytestmark = pytest.mark.timeout(10)

SCENE = SceneInfo(
    index=0,
    path=Path("scene.mp4"),
    video_stream=0,
    codec="h264",
    width=640,
    height=360,
    fps=Fraction(24),
    time_base=Fraction(1, 12288),
    pix_fmt="yuv420p",
    extradata=b"avcC-1",
    start_pts=0,
    end_pts=3 * 12288,
    has_audio=True,
)
CUT = Transition()


def _scenes(**changes: object) -> list[SceneInfo]:
    return [SCENE, dataclasses.replace(SCENE, index=1, **changes)]  # type: ignore[arg-type]


def test_identical_streams_with_a_cut_are_copied() -> None:
    plan = plan_film(_scenes(), CUT, OutputFormat())

    assert (plan.method, plan.width, plan.height, plan.fps) == ("copy", 640, 360, Fraction(24))


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"extradata": b"avcC-2"}, "decoder configuration differs"),
        ({"codec": "hevc"}, "codec differs"),
        ({"width": 320, "height": 180}, "frame size differs"),
        ({"fps": Fraction(25)}, "frame rate differs"),
        ({"time_base": Fraction(1, 90000)}, "time base differs"),
        ({"pix_fmt": "yuv444p"}, "pixel format differs"),
    ],
)
def test_any_difference_re_encodes_and_says_which_scene(
    change: dict[str, object], why: str
) -> None:
    plan = plan_film(_scenes(**change), CUT, OutputFormat())

    assert plan.method == "reencode"
    assert plan.reason == f"scene 1: {why}"


def test_vp8_is_never_copied_into_mp4() -> None:
    vp8 = dataclasses.replace(SCENE, codec="vp8")

    assert plan_film([vp8, vp8], CUT, OutputFormat()).method == "reencode"


def test_a_crossfade_re_encodes() -> None:
    plan = plan_film(_scenes(), Transition(type="crossfade", seconds=1), OutputFormat())

    assert (plan.method, plan.crossfade) == ("reencode", 1.0)


def test_an_ntsc_rate_matches_the_scenes_exact_fraction() -> None:
    ntsc = dataclasses.replace(SCENE, fps=Fraction(24000, 1001))

    plan = plan_film([ntsc], CUT, OutputFormat(fps=23.976))

    assert plan.method == "copy"


def test_an_odd_sized_first_scene_gives_an_even_film_when_re_encoded() -> None:
    odd = dataclasses.replace(SCENE, width=641, height=361)

    plan = plan_film([odd, SCENE], CUT, OutputFormat())

    assert (plan.method, plan.width, plan.height) == ("reencode", 640, 360)


@pytest.mark.parametrize(
    ("size", "box", "fitted"),
    [
        ((240, 240), (320, 180), (180, 180)),
        ((320, 180), (240, 240), (240, 136)),
        ((1920, 1080), (640, 360), (640, 360)),
        ((90, 160), (160, 90), (50, 90)),
    ],
)
def test_fitted_size_keeps_the_aspect_inside_the_box(
    size: tuple[int, int], box: tuple[int, int], fitted: tuple[int, int]
) -> None:
    assert fitted_size(*size, *box) == fitted


def test_overlaps_and_segments_tile_the_film() -> None:
    scenes = [SCENE, dataclasses.replace(SCENE, index=1, end_pts=12288), SCENE]

    shared = overlaps(scenes, 2.0, Fraction(24))
    spans = segments(scenes, shared, Fraction(24))

    assert shared == [12, 12]  # clamped to half of the 1 s scene
    assert [(s.start, s.length, s.overlap) for s in spans] == [
        (0.0, 2.5, 0.5),
        (2.5, 0.5, 0.5),
        (3.0, 3.0, 0.0),
    ]


def test_fade_gain_ramps_in_and_out_and_holds_between() -> None:
    gain = fade_gain(0, 1000, end=1000, fade=100)[0]

    assert gain[0] < 0.01
    assert gain[-1] < 0.01
    assert np.all(gain[100:900] == 1.0)
    assert np.all(np.diff(gain[:100]) > 0)
