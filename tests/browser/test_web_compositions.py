"""The web app's Compositions tab in headless Chromium, against the whole system (``make run``).

A composition made from the page's scene rows is followed live on its own event stream: the
per-scene chips and the progress summary move, the status reaches ``succeeded`` and the film
plays in the player. The API's refusals are shown beside the form.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, Route

from tests.browser.webapp import (
    DOCS_IMAGES,
    JOB_WAIT_MS,
    WAIT_MS,
    WRITE_SCREENSHOTS,
    App,
    opened,
    path_of,
    read_job,
    solid_png,
    wait_final,
    write_small_png,
)
from tests.e2e.conftest import EmbeddedSystem, running_system

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

COMPOSITIONS = "/v1/compositions"

# records every progress summary and every status a composition card and its scene chips show,
# in order (set before any script of the page runs, so nothing is missed)
COMPOSITION_RECORDER = r"""
window.compositionLog = {};
const note = (list, value) => { if (value && list[list.length - 1] !== value) list.push(value); };
const recordComposition = (card) => {
  const id = card.dataset.compositionId;
  if (!id) return;
  const log = (window.compositionLog[id] ??= {status: [], summary: [], scenes: {}});
  note(log.status, card.dataset.status);
  note(log.summary, card.querySelector('[data-testid=composition-progress]')?.textContent);
  for (const chip of card.querySelectorAll('[data-testid=scene-chip]')) {
    note(log.scenes[chip.dataset.index] ??= [], chip.querySelector('.chip')?.dataset.status);
  }
};
new MutationObserver(() => {
  for (const card of document.querySelectorAll('[data-testid=composition-card]')) {
    recordComposition(card);
  }
}).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
"""


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSystem]:
    with running_system(tmp_path_factory) as running:
        yield running


@pytest.fixture
async def app(browser: Browser, system: EmbeddedSystem) -> AsyncIterator[App]:
    async with opened(
        browser, system, width=1280, height=900, init_scripts=(COMPOSITION_RECORDER,)
    ) as opened_app:
        page = opened_app.page
        await page.get_by_test_id("tab-compositions").click()
        await page.locator("#composition-cards[data-loaded]").wait_for(state="attached")
        yield opened_app


def scene_rows(page: Page) -> Locator:
    return page.get_by_test_id("scene-row")


async def fill_scene(row: Locator, prompt: str, seconds: int) -> None:
    await row.get_by_test_id("scene-model").select_option("sandbox/text-to-video")
    await row.get_by_test_id("scene-prompt").fill(prompt)
    await row.get_by_test_id("scene-duration").fill(str(seconds))


async def submit_composition(page: Page) -> tuple[int, dict[str, Any]]:
    """Press Create; the status and body the API answered with."""
    async with page.expect_response(
        lambda r: path_of(r.request) == "/v1/compositions" and r.request.method == "POST"
    ) as answer:
        await page.get_by_test_id("compose-submit").click()
    response = await answer.value
    assert response.request.headers.get("idempotency-key"), "no Idempotency-Key"
    body: dict[str, Any] = await response.json()
    return response.status, body


def card(page: Page, composition_id: str) -> Locator:
    return page.locator(f"[data-testid=composition-card][data-composition-id='{composition_id}']")


async def test_two_scenes_become_a_film_followed_live_and_played(
    app: App, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    page = app.page
    rows = scene_rows(page)
    assert await rows.count() == 2, "a new composition starts with two scenes"
    await fill_scene(rows.nth(0), "a hallway in morning light", 1)
    await fill_scene(rows.nth(1), "a kitchen with a window", 1)
    # a third row, added and removed again: two scenes are sent
    await page.get_by_test_id("add-scene").click()
    assert await rows.count() == 3
    await page.get_by_role("button", name="Remove scene 3").click()
    assert await rows.count() == 2

    status, created = await submit_composition(page)
    assert status == 202, created
    assert created["id"].startswith("cmp_")
    assert [s["model"] for s in created["scenes"]] == ["sandbox/text-to-video"] * 2
    shown = card(page, created["id"])
    await shown.wait_for()

    await shown.and_(page.locator("[data-status=succeeded]")).wait_for(timeout=JOB_WAIT_MS)
    log = await page.evaluate("(id) => window.compositionLog[id]", created["id"])
    assert log["status"][0] == "generating"
    assert log["status"][-1] == "succeeded"
    assert log["summary"][0] == "0 of 2 scenes done"
    assert log["summary"][-1] == "2 of 2 scenes done"
    for index in ("0", "1"):
        assert log["scenes"][index][0] in {"queued", "submitted", "running"}, log
        assert log["scenes"][index][-1] == "succeeded", log
    assert await shown.get_by_test_id("composition-progress").inner_text() == "2 of 2 scenes done"

    # moved by the composition's own stream, not by reading it again and again
    streams = [r for r in app.requests if path_of(r).endswith(f"{created['id']}/events")]
    assert streams, "the card never opened the composition's event stream"
    assert streams[0].headers["accept"] == "text/event-stream"
    assert streams[0].headers["authorization"] == f"Bearer {app.key}"
    reads = [r for r in app.requests if path_of(r) == f"/v1/compositions/{created['id']}"]
    assert reads == []

    done = await read_job(api, created["id"], COMPOSITIONS)
    assert done["status"] == "succeeded"
    await page.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
    await shown.locator(".thumb img").wait_for()
    await page.wait_for_function(
        "(id) => { const i = document.querySelector(`[data-composition-id='${id}'] .thumb img`);"
        "  return i && i.complete && i.naturalWidth; }",
        arg=created["id"],
    )
    target = DOCS_IMAGES if WRITE_SCREENSHOTS else tmp_path
    path = target / "web-compositions.png"
    write_small_png(await page.screenshot(), path)
    assert path.stat().st_size < 300_000

    await shown.get_by_role("button", name="Play").click()
    player = page.get_by_test_id("player")
    await player.wait_for()
    assert await player.evaluate("(v) => v.tagName") == "VIDEO"
    poster = await player.get_attribute("poster")
    assert poster
    assert urlsplit(poster).path == urlsplit(done["outputs"][0]["poster_url"]).path
    await page.wait_for_function("document.querySelector('[data-testid=player]').readyState >= 1")
    duration: float = await player.evaluate("(v) => v.duration")
    assert duration == pytest.approx(done["outputs"][0]["duration"], abs=0.2)
    assert duration > 0
    # seekable: a seek to the middle lands
    await player.evaluate(
        "(v) => { window.seeked = false; v.addEventListener('seeked', () => window.seeked = true);"
        "  v.currentTime = v.duration / 2; }"
    )
    await page.wait_for_function("window.seeked === true")
    assert await player.evaluate("(v) => v.error") is None


async def test_the_apis_refusal_is_shown_beside_the_form_and_marks_the_scene(app: App) -> None:
    page = app.page
    rows = scene_rows(page)
    await fill_scene(rows.nth(0), "a garden", 1)
    # the second scene has no prompt, which the model requires
    await rows.nth(1).get_by_test_id("scene-model").select_option("sandbox/text-to-video")
    status, problem = await submit_composition(page)
    assert status == 422, problem
    paths = [e["path"] for e in problem["errors"]]
    assert any(p.startswith("scenes.1") for p in paths), paths

    box = page.locator("#compose-error")
    await box.wait_for()
    text = await box.inner_text()
    assert problem["code"] in text
    assert paths[0] in text
    assert await rows.nth(1).get_attribute("data-invalid") == "true"
    assert await rows.nth(0).get_attribute("data-invalid") is None


# an audio model as the catalogue lists one (the sandbox's music model, where it is shipped)
MUSIC_MODEL = {
    "id": "test/text-to-music",
    "kind": "text-to-music",
    "description": "A score for the form.",
    "input_schema": {"type": "object", "properties": {"prompt": {"type": "string"}}},
}


def _makes_audio(model: dict[str, Any]) -> bool:
    return bool(model.get("kind") == "text-to-music")


async def test_rows_reorder_take_an_uploaded_image_and_a_score_when_one_is_listed(
    browser: Browser, system: EmbeddedSystem, tmp_path: Path
) -> None:
    async def without_audio_models(route: Route) -> None:
        response = await route.fetch()
        page_of_models = await response.json()
        page_of_models["data"] = [m for m in page_of_models["data"] if not _makes_audio(m)]
        await route.fulfill(response=response, json=page_of_models)

    # a catalogue with no audio model: no generated score is offered
    plain = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = await plain.new_page()
        page.set_default_timeout(WAIT_MS)
        await page.route("**/v1/models", without_audio_models)
        await page.goto(f"{system.gateway}/")
        await page.get_by_test_id("api-key").fill(system.api_key)
        await page.get_by_test_id("api-key").press("Enter")
        await page.get_by_test_id("tab-compositions").click()
        await scene_rows(page).nth(1).wait_for()
        assert await page.locator("#score-generated-option").evaluate("(o) => o.hidden")
    finally:
        await plain.close()

    sent: list[Any] = []

    async def with_a_music_model(route: Route) -> None:
        # the shipped music models are swapped for one of the test's (the select's only one)
        response = await route.fetch()
        page_of_models = await response.json()
        page_of_models["data"] = [m for m in page_of_models["data"] if not _makes_audio(m)]
        page_of_models["data"].append(MUSIC_MODEL)
        await route.fulfill(response=response, json=page_of_models)

    async def keep_the_body(route: Route) -> None:
        sent.append(route.request.post_data_json)
        await route.abort("connectionreset")  # nothing made: only the body is looked at

    image = tmp_path / "room.png"
    image.write_bytes(solid_png((90, 140, 60)))
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = await context.new_page()
        page.set_default_timeout(WAIT_MS)
        await page.route("**/v1/models", with_a_music_model)
        await page.route("**/v1/compositions", keep_the_body)
        await page.goto(f"{system.gateway}/")
        await page.get_by_test_id("api-key").fill(system.api_key)
        await page.get_by_test_id("api-key").press("Enter")
        await page.get_by_test_id("tab-compositions").click()
        rows = scene_rows(page)
        await rows.nth(1).wait_for()
        await fill_scene(rows.nth(0), "the street outside", 2)
        second = rows.nth(1)
        await second.get_by_test_id("scene-model").select_option("sandbox/image-to-video")
        upload = second.get_by_test_id("scene-upload")
        await upload.locator("input[type=file]").set_input_files(str(image))
        await upload.get_by_text("Uploaded").wait_for()
        await second.get_by_test_id("scene-prompt").fill("the front door opens")
        # the image scene first
        await page.get_by_role("button", name="Move scene 2 up").click()
        await page.locator("#score-kind").select_option("generated")
        await page.get_by_label("Score prompt").fill("a warm acoustic guitar")
        await page.locator("#transition").select_option("crossfade")
        await page.get_by_label("Crossfade seconds").fill("0.4")
        await page.locator("#policy").select_option("best_effort")
        await page.get_by_test_id("compose-submit").click()
        await page.locator("#compose-error").get_by_text("network_error").wait_for()
    finally:
        await context.close()

    [body] = sent
    first, last = body["scenes"]
    assert first["model"] == "sandbox/image-to-video"
    assert first["input"]["prompt"] == "the front door opens"
    assert first["input"]["image"].startswith("upload://upl_")
    assert "duration" not in first
    assert last == {
        "model": "sandbox/text-to-video",
        "input": {"prompt": "the street outside"},
        "duration": 2,
    }
    assert body["audio"] == {"model": MUSIC_MODEL["id"], "prompt": "a warm acoustic guitar"}
    assert body["transition"] == {"type": "crossfade", "seconds": 0.4}
    assert body["policy"] == "best_effort"


async def compose(api: httpx.AsyncClient, *scenes: dict[str, Any]) -> dict[str, Any]:
    body = {
        "scenes": [
            {"model": "sandbox/text-to-video", "input": scene, "duration": 1} for scene in scenes
        ]
    }
    response = await api.post("/v1/compositions", json=body)
    assert response.status_code == 202, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_a_failed_composition_shows_the_scenes_reason_and_retry_follows_it_again(
    browser: Browser, system: EmbeddedSystem, api: httpx.AsyncClient
) -> None:
    created = await compose(
        api, {"prompt": "fine"}, {"prompt": "broken", "sandbox_fault": "model_error"}
    )
    failed = await wait_final(api, created["id"], COMPOSITIONS)
    assert failed["status"] == "failed"

    async with opened(
        browser, system, width=1280, height=900, init_scripts=(COMPOSITION_RECORDER,)
    ) as app:
        page = app.page
        await page.get_by_test_id("tab-compositions").click()
        shown = card(page, created["id"])
        await shown.and_(page.locator("[data-status=failed]")).wait_for()
        error = shown.locator(".job-error").first
        assert failed["error"]["code"] in await error.inner_text()
        chip = shown.locator("[data-testid=scene-chip][data-index='1']")
        assert "provider_model_error" in await chip.inner_text()
        assert await shown.get_by_test_id("composition-cancel").is_hidden()

        await shown.get_by_test_id("composition-retry").click()
        # the same input fails the same way: the card follows the retry to its end
        await page.wait_for_function(
            "(id) => (window.compositionLog[id]?.status ?? []).join() === 'failed,generating,failed'",
            arg=created["id"],
            timeout=JOB_WAIT_MS,
        )
        await chip.get_by_text("retry 1").wait_for()
    retried = await read_job(api, created["id"], COMPOSITIONS)
    assert len(retried["scenes"][1]["retries"]) == 1


async def test_cancel_on_the_card_cancels_the_composition(
    browser: Browser, system: EmbeddedSystem, api: httpx.AsyncClient
) -> None:
    created = await compose(
        api,
        {"prompt": "slow one", "sandbox_delay": 40},
        {"prompt": "slow two", "sandbox_delay": 40},
    )
    # on a phone
    async with opened(browser, system, width=390, height=844) as app:
        page = app.page
        await page.get_by_test_id("tab-compositions").click()
        shown = card(page, created["id"])
        await shown.and_(page.locator("[data-status=generating]")).wait_for()
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        await shown.get_by_test_id("composition-cancel").click()
        await shown.and_(page.locator("[data-status=canceled]")).wait_for()
        assert await shown.get_by_test_id("composition-cancel").is_hidden()
        await shown.get_by_test_id("composition-retry").wait_for()
    assert (await wait_final(api, created["id"], COMPOSITIONS))["status"] == "canceled"


async def test_past_three_live_streams_the_others_are_read_now_and_then_until_final(
    browser: Browser, system: EmbeddedSystem, api: httpx.AsyncClient
) -> None:
    created = [await compose(api, {"prompt": f"room {n}", "sandbox_delay": 12}) for n in range(4)]
    ids = [c["id"] for c in created]
    async with opened(browser, system, width=1280, height=900) as app:
        page = app.page
        # from the start: the cards follow what the list shows, newest first
        since = len(app.requests)
        async with page.expect_request(
            lambda r: r.method == "GET" and path_of(r) in {f"{COMPOSITIONS}/{i}" for i in ids},
            timeout=WAIT_MS,
        ) as first_read:
            await page.reload()
        read = await first_read.value
        streamed = {
            composition_id
            for r in app.requests[since:]
            for composition_id in ids
            if path_of(r) == f"{COMPOSITIONS}/{composition_id}/events"
        }
        # the three newest have the streams; the oldest is read meanwhile
        assert streamed == set(ids[1:])
        assert path_of(read) == f"{COMPOSITIONS}/{ids[0]}"
        await page.get_by_test_id("tab-compositions").click()
        for composition_id in ids:
            await (
                card(page, composition_id)
                .and_(page.locator("[data-status=succeeded]"))
                .wait_for(timeout=JOB_WAIT_MS)
            )
