"""Join the scenes' video packets without re-encoding (stream copy), timestamps rebased.

Every scene shares the film's codec, time base and decoder configuration (see ``plan``), so its
packets are written as they are, shifted to start where the previous scene ended: no gap, no
overlap, and decoding timestamps that only go up, even if a scene's reorder delay differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import av

from reelhouse.assembler.film.errors import FilmError, reason
from reelhouse.assembler.film.inputs import SceneInfo
from reelhouse.assembler.film.pulse import Pulse
from reelhouse.assembler.film.segments import Segment


def concat_video(scenes: Sequence[SceneInfo], target: Path, pulse: Pulse) -> list[Segment]:
    """Write the scenes' video streams one after the other into ``target`` (MP4, video only).

    Returns where each scene sits in the film, in seconds.
    """
    first = scenes[0]
    time_base = first.time_base
    segments: list[Segment] = []
    with av.open(str(target), mode="w", format="mp4") as output:
        offset = 0  # where the next scene starts, in time_base units
        last_dts: int | None = None
        out_stream = None
        for scene in scenes:
            try:
                with av.open(str(scene.path), mode="r", metadata_errors="ignore") as source:
                    video = source.streams.video[scene.video_stream]
                    if out_stream is None:
                        out_stream = output.add_stream_from_template(video)
                    start = offset
                    shift = offset - scene.start_pts
                    for packet in source.demux(video):
                        pulse.beat()
                        if packet.dts is None and packet.pts is None:
                            continue  # the demuxer's end-of-stream marker
                        if packet.dts is not None and last_dts is not None:
                            # a deeper reorder delay than the previous scene's: push it later
                            shift = max(shift, last_dts + 1 - packet.dts)
                        if packet.pts is not None:
                            packet.pts += shift
                        if packet.dts is not None:
                            packet.dts += shift
                            last_dts = packet.dts
                        packet.stream = out_stream
                        output.mux(packet)
            except (av.FFmpegError, ValueError, EOFError) as exc:
                raise FilmError(f"scene {scene.index} could not be read: {reason(exc)}") from exc
            offset = scene.end_pts + shift
            segments.append(Segment(float(start * time_base), float((offset - start) * time_base)))
    return segments
