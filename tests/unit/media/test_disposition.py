"""Content-Disposition for downloads (RFC 6266 / RFC 8187): safe names, exact UTF-8."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from reelhouse.media.disposition import content_disposition, download_name


def test_the_name_comes_from_the_key_without_its_prefix() -> None:
    assert download_name("outputs/job-1/0.mp4") == "job-1-0.mp4"
    assert download_name("posters/job-1/0.jpg") == "job-1-0.jpg"
    assert download_name("loose.bin") == "loose.bin"


@pytest.mark.parametrize(
    "requested", ["../../etc/passwd", "a\\b", "line\r\nbreak", "\x00nul", "..", "  "]
)
def test_requested_names_lose_path_separators_and_control_characters(requested: str) -> None:
    name = download_name("outputs/j/0.mp4", requested)
    assert not {"/", "\\", "\r", "\n", "\x00"} & set(name)
    assert name
    assert not name.startswith(".")


def test_an_ascii_name_is_sent_both_ways() -> None:
    value = content_disposition("attachment", "job-1-0.mp4")
    assert value == "attachment; filename=\"job-1-0.mp4\"; filename*=UTF-8''job-1-0.mp4"


def test_a_unicode_name_is_exact_in_filename_star_and_tame_in_filename() -> None:
    name = 'clip "ünïcode"; 50%.mp4'
    value = content_disposition("attachment", name)
    fallback = value.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback.isascii()
    assert not set('";\\%') & set(fallback)
    encoded = value.split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded, encoding="utf-8") == name
    assert " " not in encoded
    assert ";" not in encoded
