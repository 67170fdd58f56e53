"""``disk_full_error``: ENOSPC and EDQUOT are the retryable ``disk_full``; nothing else is."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from reelhouse.common.diskspace import disk_full_error


@pytest.mark.parametrize("number", [errno.ENOSPC, errno.EDQUOT])
def test_no_space_or_quota_is_disk_full_naming_the_directory(number: int, tmp_path: Path) -> None:
    error = disk_full_error(OSError(number, "full"), tmp_path, event="test.disk_full")
    assert error is not None
    assert error.code == "disk_full"
    assert str(tmp_path) in error.message


@pytest.mark.parametrize("number", [errno.EACCES, errno.EIO, errno.ENOENT, None])
def test_any_other_os_error_is_left_to_the_caller(number: int | None, tmp_path: Path) -> None:
    exc = OSError("no errno") if number is None else OSError(number, "other")
    assert disk_full_error(exc, tmp_path, event="test.disk_full") is None
