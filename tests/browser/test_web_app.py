"""The web app at ``/`` in headless Chromium, against the whole system (``make run``).

One system for the module. Each test opens the page afresh, enters the key and waits for
the live stream; what it asserts is what a person sees: cards, their ``data-status``, the
player. That polling is not what moves a card is checked from the page's own requests.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Route

from tests.browser.webapp import (
    DOCS_IMAGES,
    IMAGE_INPUT_MODEL_ID,
    SSE_RESUME,
    WRITE_SCREENSHOTS,
    App,
    card_ids,
    choose_model,
    cost_text,
    expected_ids,
    image_input_catalogue,
    opened,
    path_of,
    play_and_seek,
    read_job,
    shown_after_scrolling,
    solid_png,
    submit,
    wait_final,
    write_small_png,
)
from tests.e2e.conftest import EmbeddedSystem, running_system

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSystem]:
    catalogue = tmp_path_factory.mktemp("catalogue") / "models.json"
    catalogue.write_text(json.dumps(image_input_catalogue()))
    # the dispatcher looks at the provider every second (webhooks or not), so a job's
    # queue and render phases are both seen by a job a few seconds long
    with running_system(
        tmp_path_factory,
        REELHOUSE_POLL_INTERVAL_WITH_WEBHOOKS_SECONDS="1",
        REELHOUSE_CATALOG_PATHS=json.dumps([str(catalogue)]),
    ) as running:
        yield running


@pytest.fixture
async def app(browser: Browser, system: EmbeddedSystem) -> AsyncIterator[App]:
    async with opened(browser, system, width=1280, height=800) as page:
        yield page


async def test_a_submitted_job_moves_through_its_states_live_without_polling(
    app: App, api: httpx.AsyncClient
) -> None:
    page = app.page
    await page.evaluate("window.sameDocument = true")
    await choose_model(page, "sandbox/text-to-video")
    await page.get_by_test_id("prompt").fill("a lighthouse at dusk, waves")
    await page.locator("#advanced summary").click()
    # slow enough that the provider's queue and render are both seen
    await page.get_by_label("Sandbox delay (optional)").fill("8")
    submitted_from = len(app.requests)
    job = await app.submit_form()

    await app.wait_status(job["id"], "succeeded")
    assert await app.status_log(job["id"]) == [
        "queued",
        "submitted",
        "running",
        "downloading",
        "succeeded",
    ]
    assert await page.evaluate("window.sameDocument") is True, "the page was reloaded"

    card = app.card(job["id"])
    await card.get_by_role("button", name="Play").wait_for()
    assert "3.0 s" in await card.locator(".stage").inner_text()
    assert await card.locator(".cost").inner_text() == cost_text(
        (await read_job(api, job["id"])).get("cost")
    )

    # what moved the card: the one event stream; the job itself read once, after its final state
    after = app.requests[submitted_from:]
    lists = [r for r in after if path_of(r) == "/v1/generations" and r.method == "GET"]
    reads = [r for r in after if path_of(r) == f"/v1/generations/{job['id']}"]
    streams = [r for r in app.requests if path_of(r) == "/v1/events"]
    assert lists == []
    assert len(reads) == 1, [r.url for r in reads]
    assert len(streams) == 1
    assert streams[0].headers["accept"] == "text/event-stream"
    assert streams[0].headers["authorization"] == f"Bearer {app.key}"
    job_reads = await page.evaluate("(id) => window.jobReads.filter((r) => r.id === id)", job["id"])
    assert job_reads == [{"id": job["id"], "shown": "succeeded"}]


async def test_the_key_is_remembered_by_the_browser(app: App) -> None:
    page = app.page
    await page.reload()
    assert await page.get_by_test_id("api-key").input_value() == app.key
    await page.locator("#live-state[data-state=open]").wait_for()
    await page.locator("#cards[data-loaded]").wait_for(state="attached")


async def test_a_submit_whose_answer_was_lost_is_sent_again_with_the_same_key(app: App) -> None:
    page = app.page
    keys: list[str] = []
    first: dict[str, Any] = {}

    async def lose_the_first_answer(route: Route) -> None:
        keys.append(route.request.headers["idempotency-key"])
        if len(keys) == 1:
            response = await route.fetch()  # the gateway makes the job ...
            first.update(await response.json())
            await route.abort("connectionreset")  # ... and the answer never arrives
        else:
            await route.continue_()

    await page.route("**/v1/generations", lose_the_first_answer)
    await choose_model(page, "sandbox/text-to-image")
    await page.get_by_test_id("prompt").fill("sent twice, made once")
    await page.get_by_test_id("submit").click()
    await page.locator("#form-error").get_by_text("network_error").wait_for()

    job = await app.submit_form()
    assert keys[0] == keys[1]
    assert job["id"] == first["id"]
    await app.wait_status(job["id"], "succeeded")
    assert await page.locator(f"[data-job-id='{job['id']}']").count() == 1


async def test_the_event_stream_resumes_after_a_drop_with_last_event_id(
    browser: Browser, system: EmbeddedSystem
) -> None:
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(f"{system.gateway}/")
        result = await page.evaluate(SSE_RESUME)
    finally:
        await context.close()
    assert result["events"] == [
        ["e1", "t", "queued"],
        ["e2", "t", "running"],
        ["e3", "message", "succeeded"],
    ]
    assert [(c["accept"], c["resume"]) for c in result["calls"]] == [
        ("text/event-stream", None),
        ("text/event-stream", "e2"),
    ]


async def test_a_failed_job_shows_its_reason_and_retry_makes_a_new_card(
    app: App, api: httpx.AsyncClient
) -> None:
    page = app.page
    await choose_model(page, "sandbox/text-to-image")
    await page.get_by_test_id("prompt").fill("a broken render")
    await page.locator("#advanced summary").click()
    await page.get_by_label("Sandbox fault (optional)").select_option("model_error")
    job_id = (await app.submit_form())["id"]

    await app.wait_status(job_id, "failed")
    failed = await read_job(api, job_id)
    error = app.card(job_id).locator(".job-error")
    await error.wait_for()
    assert failed["error"]["code"] == "provider_model_error"
    text = await error.inner_text()
    assert "provider_model_error" in text
    assert failed["error"]["message"] in text

    await app.card(job_id).get_by_test_id("retry").click()
    retried_by = await page.wait_for_function(
        "(id) => { const c = [...document.querySelectorAll('[data-testid=job-card]')];"
        "  return c.length && c[0].dataset.jobId !== id && c[0].dataset.jobId; }",
        arg=job_id,
    )
    new_id = await retried_by.json_value()
    assert (await read_job(api, job_id))["retried_by"] == new_id
    # the retry is followed live like any job (it fails the same way: same input)
    await app.wait_status(new_id, "failed")
    assert await app.card(job_id).get_by_test_id("retry").is_hidden()


async def test_the_player_plays_and_seeks_and_offers_a_download(
    app: App, api: httpx.AsyncClient
) -> None:
    job = await submit(api, "sandbox/text-to-video", {"prompt": "a slow pan", "duration": 6})
    done = await wait_final(api, job["id"])
    assert done["status"] == "succeeded"
    page = app.page
    card = app.card(job["id"])
    await app.wait_status(job["id"], "succeeded")
    # made elsewhere (the API) while the page was open: it came in at the top
    assert await page.get_by_test_id("job-card").first.get_attribute("data-job-id") == job["id"]
    # by keyboard
    await card.get_by_role("button", name="Play").focus()
    await page.keyboard.press("Enter")

    player = page.get_by_test_id("player")
    await player.wait_for()
    assert await player.evaluate("(v) => v.tagName") == "VIDEO"
    assert await player.get_attribute("preload") == "metadata"
    # signed URLs are fresh on every read: the same object, maybe another expiry
    poster = await player.get_attribute("poster")
    assert poster
    assert urlsplit(poster).path == urlsplit(done["outputs"][0]["poster_url"]).path
    duration = await play_and_seek(page, player)
    assert duration == pytest.approx(6.0, abs=0.3)

    link = page.locator("#player-download")
    assert await link.get_attribute("download") is not None
    href = await link.get_attribute("href")
    assert href
    assert parse_qs(urlsplit(href).query)["download"] == ["1"]
    response = await api.get(href)
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment")

    await page.keyboard.press("Escape")
    await player.wait_for(state="detached")
    # focus goes back where it was
    focused = await page.evaluate(
        "[document.activeElement.textContent, document.activeElement.closest('[data-job-id]')"
        "?.dataset.jobId]"
    )
    assert focused == ["Play", job["id"]]


async def test_music_plays_in_an_audio_player(app: App, api: httpx.AsyncClient) -> None:
    job = await submit(api, "sandbox/text-to-music", {"prompt": "a lullaby", "duration": 4})
    done = await wait_final(api, job["id"])
    assert done["status"] == "succeeded"
    page = app.page
    card = app.card(job["id"])
    await app.wait_status(job["id"], "succeeded")
    assert "4.0 s · audio" in await card.inner_text()

    await card.get_by_role("button", name="Play").click()

    player = page.get_by_test_id("player")
    await player.wait_for()
    assert await player.evaluate("(a) => a.tagName") == "AUDIO"
    duration = await play_and_seek(page, player)
    assert duration == pytest.approx(4.0, abs=0.1)
    await page.keyboard.press("Escape")
    await player.wait_for(state="detached")


async def test_filters_and_scrolling_load_exactly_the_matching_cards(
    browser: Browser, system: EmbeddedSystem, api: httpx.AsyncClient
) -> None:
    model = "sandbox-fal/text-to-image"
    jobs = [
        await submit(api, model, {"prompt": f"tile {n}", "sandbox_delay": 0}) for n in range(23)
    ]
    jobs += [
        await submit(api, model, {"prompt": f"broken {n}", "sandbox_fault": "model_error"})
        for n in range(3)
    ]
    for job in jobs:
        await wait_final(api, job["id"])

    async with opened(browser, system, width=1280, height=700) as app:
        page = app.page
        await page.locator("#filter-model").select_option(model)
        await page.locator("#cards[data-loaded]").wait_for(state="attached")
        assert len(await card_ids(page)) == 20, "one page until the gallery is scrolled"
        assert await shown_after_scrolling(page) == await expected_ids(api, model=model)
        assert len(await card_ids(page)) >= 26
        cursors = [r for r in app.requests if "cursor=" in r.url and model in unquote(r.url)]
        assert cursors, "the second page came through next_cursor"

        await page.locator("#filter-status").select_option("failed")
        assert await shown_after_scrolling(page) == await expected_ids(
            api, model=model, status="failed"
        )
        statuses = await page.evaluate(
            "[...document.querySelectorAll('[data-testid=job-card]')].map(c => c.dataset.status)"
        )
        assert set(statuses) == {"failed"}


async def test_an_image_input_is_an_upload_widget_and_api_answers_are_shown(
    app: App, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    """Works before and after uploads and costs are merged: the page follows the API."""
    paths = (await api.get("/openapi.json")).json()["paths"]
    page = app.page
    image = tmp_path / "frame.png"
    image.write_bytes(solid_png((200, 40, 40)))

    await choose_model(page, IMAGE_INPUT_MODEL_ID)
    upload = page.get_by_test_id("upload")
    await upload.get_by_label("Start image").set_input_files(str(image))
    await upload.locator("img.preview").wait_for()
    status = upload.locator(".hint")
    if "/v1/uploads" in paths:
        await status.get_by_text("Uploaded").wait_for()
    else:
        # refused (no uploads here): the API's code said beside the field, never swallowed,
        # and the form is not sent without its image
        refusal = await api.post("/v1/uploads", files={"file": ("frame.png", image.read_bytes())})
        code = refusal.json()["code"]
        await status.get_by_text(f"Upload failed: {code}").wait_for()
        file_input = upload.get_by_label("Start image")
        assert await file_input.evaluate("(i) => i.validationMessage")

    usage = page.locator("#usage")
    if "/v1/usage" in paths:
        await usage.locator("table, .hint").first.wait_for()
    else:
        assert await usage.is_hidden()


async def test_an_uploaded_image_becomes_a_video_that_plays(
    app: App, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    models = {m["id"] for m in (await api.get("/v1/models")).json()["data"]}
    paths = (await api.get("/openapi.json")).json()["paths"]
    if "sandbox/image-to-video" not in models or "/v1/uploads" not in paths:
        pytest.skip("needs uploads and image-to-video")
    page = app.page
    image = tmp_path / "start.png"
    image.write_bytes(solid_png((40, 160, 220)))

    await choose_model(page, "sandbox/image-to-video")
    upload = page.get_by_test_id("upload")
    await upload.locator("input[type=file]").set_input_files(str(image))
    await upload.locator("img.preview").wait_for()
    await upload.get_by_text("Uploaded").wait_for()
    await page.get_by_test_id("prompt").fill("a slow zoom over the sea")
    job = await app.submit_form()
    assert job["input"]["image"].startswith("upload://upl_")

    await app.wait_status(job["id"], "succeeded")
    await app.card(job["id"]).get_by_role("button", name="Play").click()
    player = page.get_by_test_id("player")
    assert await player.evaluate("(v) => v.tagName") == "VIDEO"
    assert await play_and_seek(page, player) > 1.0


async def test_phone_and_desktop_layouts_with_finished_cards(
    browser: Browser, system: EmbeddedSystem, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    pending = [
        await submit(api, "sandbox/text-to-video", {"prompt": prompt, "duration": 2})
        for prompt in ("a red fox in snow", "city lights at night", "waves on a beach")
    ]
    for job in pending:
        await wait_final(api, job["id"])
    # and one still rendering, so a card shows its live progress
    slow = await submit(api, "sandbox/text-to-video", {"prompt": "sunrise", "sandbox_delay": 40})
    target = DOCS_IMAGES if WRITE_SCREENSHOTS else tmp_path
    for name, width, height in (("web-desktop", 1280, 800), ("web-phone", 390, 844)):
        async with opened(browser, system, width=width, height=height) as app:
            page = app.page
            for job in pending:
                await app.wait_status(job["id"], "succeeded")
            await app.wait_status(slow["id"], "running")
            await page.evaluate("document.activeElement.blur()")
            if width < 600:
                # on a phone the form comes first: show the gallery
                await page.evaluate("document.getElementById('gallery').scrollIntoView()")
            await page.wait_for_function(
                "(ids) => ids.every((id) => { const i = document.querySelector("
                "  `[data-job-id='${id}'] .thumb img`); return i && i.complete && i.naturalWidth; })",
                arg=[job["id"] for job in pending],
            )
            # no horizontal scrolling, whatever the width
            assert await page.evaluate("document.documentElement.scrollWidth") <= width
            # every control has a label
            unlabelled = await page.evaluate(
                "[...document.querySelectorAll('input, select, textarea, button')]"
                ".filter((e) => !(e.labels?.length || e.getAttribute('aria-label')"
                "  || e.textContent.trim())).map((e) => e.outerHTML)"
            )
            assert unlabelled == []
            path = target / f"{name}.png"
            write_small_png(await page.screenshot(), path)
            assert path.stat().st_size < 300_000
