"""The one error the film-making core raises: a scene or the track cannot be used."""

from __future__ import annotations

import av


class FilmError(Exception):
    """A scene or the audio track cannot be used (not decodable, no video stream…): permanent.

    The message is for a person and names the scene by its place in the film ("scene 2 …").
    """


def reason(exc: BaseException) -> str:
    """The readable part of a decoding error (an FFmpegError's ``str()`` carries our path)."""
    if isinstance(exc, av.FFmpegError) and exc.strerror:
        return str(exc.strerror)
    return str(exc) or type(exc).__name__
