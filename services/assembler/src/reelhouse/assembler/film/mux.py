"""Put the film's video and its one audio track into the target MP4, ``moov`` first.

Both halves were written to scratch files; their packets are interleaved by time (one packet
of each held at a time) and remuxed without re-encoding. ``movflags=faststart`` has the MP4
muxer move the index before the media data once everything is written.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av

from reelhouse.assembler.film.pulse import Pulse

FASTSTART = {"movflags": "+faststart"}


def _timed(container: Any, stream: Any, number: int) -> Iterator[tuple[float, int, Any]]:
    """``stream``'s packets with their decoding time in seconds (the order the muxer wants)."""
    for packet in container.demux(stream):
        if packet.dts is None and packet.pts is None:
            continue  # the demuxer's end-of-stream marker
        stamp = packet.dts if packet.dts is not None else packet.pts
        yield float(stamp * packet.time_base), number, packet


def mux_film(video: Path, audio: Path | None, target: Path, pulse: Pulse) -> None:
    """Remux ``video``'s stream and ``audio``'s (if any) into ``target`` with faststart."""
    with av.open(str(target), mode="w", format="mp4", container_options=FASTSTART) as output:
        sources = [av.open(str(video), mode="r")]
        try:
            if audio is not None:
                sources.append(av.open(str(audio), mode="r"))
            streams = [source.streams[0] for source in sources]
            outputs = [output.add_stream_from_template(stream) for stream in streams]
            feeds = [
                _timed(source, stream, number)
                for number, (source, stream) in enumerate(zip(sources, streams, strict=True))
            ]
            for _, number, packet in heapq.merge(*feeds, key=lambda item: (item[0], item[1])):
                pulse.beat()
                packet.stream = outputs[number]
                output.mux(packet)
        finally:
            for source in sources:
                source.close()
