"""Magic bytes decide what a download is; the claimed Content-Type never does."""

from __future__ import annotations

import pytest

from reelhouse.common.errors import PermanentError
from reelhouse.common.media.sniff import (
    GIF,
    JPEG,
    M4A,
    MKV,
    MOV,
    MP3,
    MP4,
    PNG,
    WAV,
    WEBM,
    WEBP,
    MediaType,
    printable_hint,
    require_media,
    sniff,
)
from tests.unit.downloader.samples import image_bytes

EBML_WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm\x42\x87"
EBML_MKV = b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x88matroska"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        pytest.param(b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", MP4, id="mp4-isom"),
        pytest.param(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00", MP4, id="mp4-mp42"),
        pytest.param(b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00", MOV, id="mov-ftyp"),
        pytest.param(b"\x00\x00\x00\x08wide\x00\x01\x00\x00mdat", MOV, id="mov-bare-atoms"),
        pytest.param(b"\x00\x00\x00\x1cftypM4A \x00\x00\x02\x00", M4A, id="m4a"),
        pytest.param(EBML_WEBM, WEBM, id="webm"),
        pytest.param(EBML_MKV, MKV, id="matroska"),
        pytest.param(image_bytes("PNG"), PNG, id="png"),
        pytest.param(image_bytes("JPEG"), JPEG, id="jpeg"),
        pytest.param(image_bytes("GIF"), GIF, id="gif"),
        pytest.param(image_bytes("WEBP"), WEBP, id="webp"),
        pytest.param(b"ID3\x04\x00\x00\x00\x00\x00\x00", MP3, id="mp3-id3"),
        pytest.param(b"\xff\xfb\x90\x64\x00\x00", MP3, id="mp3-frame"),
        pytest.param(b"RIFF\x24\x08\x00\x00WAVEfmt ", WAV, id="wav"),
    ],
)
def test_magic_bytes_name_the_media_type(head: bytes, expected: MediaType) -> None:
    assert sniff(head) == expected


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"\xff\xf1\x50\x80\x02\x1f\xfc", id="adts-aac-is-not-mp3"),
        pytest.param(b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00", id="avif-image"),
        pytest.param(b"RIFF\x24\x08\x00\x00AVI LIST", id="avi"),
        pytest.param(b"%PDF-1.7\n", id="pdf"),
        pytest.param(b"", id="empty"),
    ],
)
def test_unsupported_or_unknown_bytes_are_not_media(head: bytes) -> None:
    assert sniff(head) is None


@pytest.mark.parametrize(
    ("body", "what"),
    [
        pytest.param(
            b"<!DOCTYPE html>\n<html><head><title>Access Denied</title></head>",
            "an HTML page",
            id="html",
        ),
        pytest.param(b"\xef\xbb\xbf  <html lang='en'><body>oops", "an HTML page", id="html-bom"),
        pytest.param(
            b'{"error": "prediction expired", "status": 410}', "a JSON document", id="json"
        ),
        pytest.param(b'[{"detail": "nope"}]', "a JSON document", id="json-array"),
        pytest.param(b"<?xml version='1.0'?><Error><Code>AccessDenied</Code>", "an XML document"),
        pytest.param(b"Service temporarily unavailable, try later\n", "plain text", id="text"),
        pytest.param(b"\x00\x01\x02\x03binary\xfe\xfd", "unrecognised binary data", id="binary"),
        pytest.param(b"", "an empty body", id="empty"),
    ],
)
def test_non_media_fails_with_a_message_naming_what_arrived(body: bytes, what: str) -> None:
    with pytest.raises(PermanentError) as caught:
        require_media(body, claimed_type="video/mp4", size=len(body))
    assert caught.value.code == "not_media"
    assert not caught.value.retryable
    message = caught.value.message
    assert what in message
    assert "claimed Content-Type video/mp4" in message
    assert f"{len(body):,} bytes" in message


def test_html_claiming_to_be_video_shows_a_printable_excerpt() -> None:
    body = b"<!DOCTYPE html>\r\n<html>\n\t<head><title>403 Forbidden</title>\x00\x07</head>"
    with pytest.raises(PermanentError) as caught:
        require_media(body, claimed_type="video/mp4", size=None)
    assert "'<!DOCTYPE html> <html> <head><title>403 Forbidden</title>.." in caught.value.message
    assert "of unknown size" in caught.value.message


def test_the_claimed_type_never_wins_over_the_bytes() -> None:
    assert require_media(image_bytes("PNG"), claimed_type="text/html", size=None) == PNG


def test_printable_hint_is_short_and_single_line() -> None:
    hint = printable_hint(b"line one\r\nline two\n" + b"x" * 200, limit=30)
    assert hint == "line one line two xxxxxxxxxxxx…"
    assert "\n" not in hint
