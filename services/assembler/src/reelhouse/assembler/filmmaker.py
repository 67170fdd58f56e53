"""What the assembler asks of the film-making core: ``FilmMaker``, the shape of
``reelhouse.assembler.film.assemble_film``.

The service takes the function as a parameter (tests pass a stand-in); ``default_film_maker``
imports the real one only when the app is built.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal, Protocol, cast

from reelhouse.common.composition_events import OutputFormat, Transition


class FilmFacts(Protocol):
    """What the film function reports of the film it wrote (``film.FilmResult``)."""

    @property
    def method(self) -> Literal["copy", "reencode"]: ...


class FilmMaker(Protocol):
    """Join ``scenes`` (local files, film order) into ``target``; blocking, run in a thread.

    Raises ``film.FilmError`` when a scene or the track cannot be used (a permanent failure).
    ``heartbeat`` is called from the worker thread while the work progresses.
    """

    def __call__(
        self,
        *,
        scenes: Sequence[Path],
        audio: Path | None,
        transition: Transition,
        output: OutputFormat,
        target: Path,
        workdir: Path,
        heartbeat: Callable[[], None] | None = None,
    ) -> FilmFacts: ...


def default_film_maker() -> tuple[FilmMaker, type[Exception]]:
    """The real film function and the error it raises for unusable inputs, imported only now
    (PyAV's codecs load with it)."""
    film = importlib.import_module("reelhouse.assembler.film")
    return cast(FilmMaker, film.assemble_film), cast(type[Exception], film.FilmError)
