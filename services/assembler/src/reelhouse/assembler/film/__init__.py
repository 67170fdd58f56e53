"""The film-making core of the assembler: scene files and a track in, one MP4 out.

Pure and blocking (PyAV, frame by frame or packet by packet); the service runs
``assemble_film`` in a worker thread around its own fetching and storing.
"""

from reelhouse.assembler.film.assemble import FilmResult, assemble_film
from reelhouse.assembler.film.errors import FilmError

__all__ = ["FilmError", "FilmResult", "assemble_film"]
