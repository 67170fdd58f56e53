"""The ``instant-video`` model: no queue, no render time, the same small ready-made clip.

For benchmarks of the pipeline around the provider: each prediction succeeds as soon as it
is created, with a copy of one short H.264/AAC MP4 rendered once per process (the app's
start-up renders it, so no prediction waits for it). The clip is real media, so the
downloader's checks (magic bytes, decode probe, poster frame) pass as for any other output.
"""

from __future__ import annotations

import functools
import os
import tempfile
import threading
from pathlib import Path

from reelhouse.sandbox.render import (
    ProgressCallback,
    Rendered,
    RenderStoppedError,
    StopCheck,
    VideoSpec,
    render_video,
)

# small and short: the least a valid video with sound and a visible first frame needs
CLIP = VideoSpec(prompt="instant", duration=1.0, width=160, height=90, fps=10, seed=20261126)
CONTENT_TYPE = "video/mp4"

_lock = threading.Lock()


@functools.cache
def _rendered() -> bytes:
    with tempfile.TemporaryDirectory(prefix="sandbox-instant-") as tmp:
        rendered = render_video(CLIP, Path(tmp) / "clip.mp4")
        return rendered.path.read_bytes()


def ready_clip() -> bytes:
    """The clip's bytes, rendered on the first call (thread-safe; later calls are free)."""
    with _lock:
        return _rendered()


def write_clip(target: Path, progress: ProgressCallback, should_stop: StopCheck) -> Rendered:
    """Write the ready clip to ``target`` (via a temporary name, like a render)."""
    if should_stop():
        raise RenderStoppedError
    data = ready_clip()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    progress(1, 1)
    return Rendered(path=target, content_type=CONTENT_TYPE, size=len(data))
