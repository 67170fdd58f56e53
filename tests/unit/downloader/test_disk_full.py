"""A full temporary directory is the machine's trouble: retried (``disk_full``), nothing left."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any, BinaryIO, cast

import pytest

from reelhouse.common.errors import TransientError
from reelhouse.common.storage import ObjectStore
from reelhouse.downloader.fetch import Fetcher
from reelhouse.downloader.ingest import Ingestor
from tests.integration.downloader.jobs import output_ready


class _FillsTheDisk:
    """Writes part of the body, then meets the end of the disk, as the real write would."""

    def __init__(self, error: int) -> None:
        self.error = error

    async def fetch(self, url: str, sink: BinaryIO, *args: Any, **kwargs: Any) -> None:
        sink.write(b"\0" * 4096)
        sink.flush()
        raise OSError(self.error, "No space left on device")


async def test_no_space_left_is_a_transient_disk_full_and_the_partial_file_goes(
    tmp_path: Path,
) -> None:
    ingestor = Ingestor(
        cast(Fetcher, _FillsTheDisk(errno.ENOSPC)), cast(ObjectStore, None), temp_dir=tmp_path
    )
    with pytest.raises(TransientError) as raised:
        await ingestor.ingest(output_ready("http://origin.test/a.mp4"))
    assert raised.value.code == "disk_full"
    assert raised.value.retryable
    assert not any(tmp_path.iterdir())  # noqa: ASYNC240 (a test, nothing else runs)


async def test_another_os_error_is_not_taken_for_a_full_disk(tmp_path: Path) -> None:
    ingestor = Ingestor(
        cast(Fetcher, _FillsTheDisk(errno.EIO)), cast(ObjectStore, None), temp_dir=tmp_path
    )
    with pytest.raises(OSError, match="No space") as raised:
        await ingestor.ingest(output_ready("http://origin.test/a.mp4"))
    assert not isinstance(raised.value, TransientError)
    assert not any(tmp_path.iterdir())  # noqa: ASYNC240 (a test, nothing else runs)
