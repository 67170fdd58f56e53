"""A browser ``<video>`` pointed at signed media URLs: poster, playback, seeking, expiry.

The page comes from its own origin on 127.0.0.1 (as a frontend would); the
media service runs on local disk and on S3. The clip is a real H.264/AAC MP4
with its index first, made here with PyAV; the poster a JPEG made with Pillow.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
from PIL import Image
from playwright.async_api import Browser, Page
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from reelhouse.common.settings import SigningSettings, StorageSettings
from reelhouse.media.settings import Settings
from tests.integration.media.clips import Clip, write_mp4, write_poster
from tests.integration.media.media_server import (
    MediaServer,
    running_media_server,
    serving_app,
)

SIGNING_KEYS = {"k1": SecretStr("browser-test-secret")}
VIDEO_KEY = "outputs/job-browser/0.mp4"
POSTER_KEY = "posters/job-browser/0.jpg"
CLIP = Clip(width=320, height=240, fps=25, seconds=6, keyframe_every=12, faststart=True)
POSTER_COLOR = (255, 0, 255)
# every wait in the page is bounded
WAIT_MS = 20_000

pytestmark = pytest.mark.timeout(120)


@dataclass
class Stage:
    media: MediaServer
    page_base: str
    video_url: str
    poster_url: str
    size: int


@pytest.fixture(params=["local", "s3"])
async def stage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stage]:
    storage = (
        StorageSettings(backend="local", local_root=tmp_path / "objects")
        if request.param == "local"
        else request.getfixturevalue("s3_store_settings")
    )
    settings = Settings(storage=storage, signing=SigningSettings(keys=SIGNING_KEYS))
    video, poster = tmp_path / "clip.mp4", tmp_path / "poster.jpg"
    write_mp4(video, CLIP)
    write_poster(poster, size=(CLIP.width, CLIP.height), color=POSTER_COLOR)
    async with running_media_server(settings) as media:
        info = await media.store.put_file(VIDEO_KEY, video, content_type="video/mp4")
        await media.store.put_file(POSTER_KEY, poster, content_type="image/jpeg")
        async with serving_app(page_app()) as page_base:
            yield Stage(media, page_base, media.url(VIDEO_KEY), media.url(POSTER_KEY), info.size)


def page_app() -> Starlette:
    """``/?src=…&poster=…``: a page with one video element, as a frontend would render it."""

    async def page(request: Request) -> HTMLResponse:
        src = json.dumps(request.query_params["src"])
        poster = json.dumps(request.query_params.get("poster", ""))
        return HTMLResponse(
            "<!doctype html><html><body style='margin:0'>"
            f"<video id='v' muted playsinline preload='metadata' width='{CLIP.width}' "
            f"height='{CLIP.height}'></video><script>"
            "const v = document.getElementById('v');"
            "window.events = [];"
            "for (const name of ['loadedmetadata', 'playing', 'seeked', 'error'])"
            "  v.addEventListener(name, () => window.events.push(name));"
            f"if ({poster}) v.poster = {poster};"
            f"v.src = {src};"
            "</script></body></html>"
        )

    return Starlette(routes=[Route("/", page)])


async def open_page(browser: Browser, stage: Stage, src: str, poster: str = "") -> Page:
    page = await browser.new_page()
    page.set_default_timeout(WAIT_MS)
    query = urlencode({"src": src, "poster": poster})
    await page.goto(f"{stage.page_base}/?{query}")
    return page


def centre_colour(png: bytes) -> tuple[int, int, int]:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    r, g, b = image.getpixel((image.width // 2, image.height // 2))  # type: ignore[misc]
    return int(r), int(g), int(b)


def close_to(colour: tuple[int, int, int], target: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 40 for a, b in zip(colour, target, strict=True))


async def test_the_poster_shows_then_the_video_plays_and_seeks(
    browser: Browser, stage: Stage
) -> None:
    page = await open_page(browser, stage, stage.video_url, stage.poster_url)
    video = page.locator("#v")
    await page.wait_for_function("window.events.includes('loadedmetadata')")
    assert await page.evaluate("v.duration") == pytest.approx(CLIP.seconds, abs=0.2)

    # before playing, the element shows the poster (bounded: it may still be decoding)
    colour = (0, 0, 0)
    for _ in range(50):
        colour = centre_colour(await video.screenshot())
        if close_to(colour, POSTER_COLOR):
            break
        await page.wait_for_timeout(100)
    assert close_to(colour, POSTER_COLOR), colour

    await page.evaluate("v.play()")
    await page.wait_for_function("v.currentTime > 0.5")
    assert not close_to(centre_colour(await video.screenshot()), POSTER_COLOR)

    target = CLIP.seconds - 2.0
    await page.evaluate(f"v.currentTime = {target}")
    await page.wait_for_function("window.events.includes('seeked')")
    assert await page.evaluate("v.currentTime") >= target - 0.1
    # playback goes on from there
    await page.wait_for_function(f"v.currentTime > {target + 0.5} && !v.paused")
    assert await page.evaluate("v.error") is None
    await page.close()


async def test_an_expired_url_fails_visibly(browser: Browser, stage: Stage) -> None:
    expired = stage.media.url(VIDEO_KEY, ttl=60, now=time.time() - 3600)
    page = await open_page(browser, stage, expired)

    await page.wait_for_function("window.events.includes('error')")
    state = await page.evaluate(
        "({code: v.error && v.error.code, network: v.networkState, ready: v.readyState})"
    )
    # MEDIA_ERR_SRC_NOT_SUPPORTED, NETWORK_NO_SOURCE, HAVE_NOTHING: the player can tell the user
    assert state == {"code": 4, "network": 3, "ready": 0}
    await page.close()


async def test_a_cross_origin_fetch_sees_the_range_headers(browser: Browser, stage: Stage) -> None:
    page = await open_page(browser, stage, stage.video_url)
    result = await page.evaluate(
        """async (url) => {
            const response = await fetch(url, {headers: {Range: 'bytes=0-99,200-299'}});
            const single = await fetch(url, {headers: {Range: 'bytes=100-199'}});
            return {
                status: response.status,
                type: response.headers.get('content-type'),
                singleStatus: single.status,
                range: single.headers.get('content-range'),
                etag: single.headers.get('etag'),
                length: (await single.arrayBuffer()).byteLength,
            };
        }""",
        stage.video_url,
    )
    assert result["status"] == 206
    assert result["type"].startswith("multipart/byteranges; boundary=")
    assert result["singleStatus"] == 206
    assert result["range"] == f"bytes 100-199/{stage.size}"
    assert result["etag"]
    assert result["length"] == 100
    await page.close()
