"""What the batch and the checks need of a running system, whoever started it: the drill
harness (``tests.faults.system.DrillSystem``) or compose (``tests/containers``)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import httpx

from reelhouse.common.settings import S3Settings


class DrillSystem(Protocol):
    """What the checks read of a system: ``tests.faults.system.DrillSystem``, or the same
    system under compose (``tests/containers``)."""

    @property
    def database_url(self) -> str: ...

    @property
    def s3(self) -> S3Settings: ...

    @property
    def sandbox(self) -> str: ...

    def client(self, role: str = "gateway") -> httpx.Client: ...

    def temp_dirs(self) -> list[Path]: ...
