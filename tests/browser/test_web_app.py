"""The web app at ``/`` in headless Chromium, against the whole system (``make run``).

One system for the module. Each test opens the page afresh, enters the key and waits for
the live stream; what it asserts is what a person sees: cards, their ``data-status``, the
player. That polling is not what moves a card is checked from the page's own requests.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
from PIL import Image
from playwright.async_api import Browser, Locator, Page, Request, Route

from tests.e2e.conftest import EmbeddedSystem, running_system
from tests.e2e.jobs import FINAL

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

# every wait in the page is bounded
WAIT_MS = 30_000
JOB_WAIT_MS = 90_000
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
# set to write the README's screenshots (docs/images/web-*.png) instead of temporary ones
WRITE_SCREENSHOTS = os.environ.get("REELHOUSE_WRITE_SCREENSHOTS") == "1"

# records every data-status a card shows, in order, and every read of one job (set before
# any script of the page runs, so nothing is missed)
STATUS_RECORDER = r"""
window.statusLog = {};
const record = (card) => {
  const id = card.dataset.jobId, status = card.dataset.status;
  if (!id || !status) return;
  const log = (window.statusLog[id] ??= []);
  if (log[log.length - 1] !== status) log.push(status);
};
new MutationObserver((mutations) => {
  for (const m of mutations) {
    if (m.type === 'attributes') record(m.target);
    for (const node of m.addedNodes || []) {
      if (node.nodeType === 1 && node.matches('[data-testid=job-card]')) record(node);
    }
  }
}).observe(document, {subtree: true, childList: true, attributes: true,
                      attributeFilter: ['data-status', 'data-job-id']});
// every read of one job, with the status its card showed when the page asked
window.jobReads = [];
const pageFetch = window.fetch;
window.fetch = function (input, init) {
  const url = new URL(input instanceof Request ? input.url : input, location.href);
  const match = url.pathname.match(/^\/v1\/generations\/(gen_[^/]+)$/);
  if (match) {
    const card = document.querySelector(`[data-testid=job-card][data-job-id="${match[1]}"]`);
    window.jobReads.push({id: match[1], shown: card ? card.dataset.status : null});
  }
  return pageFetch.call(this, input, init);
};
"""


# an operator's model with an image input (as the real image-to-video models have), runnable
# here: the form must offer it an upload widget
IMAGE_INPUT_MODEL_ID = "test/with-start-image"
IMAGE_INPUT_MODEL = {
    "id": IMAGE_INPUT_MODEL_ID,
    "kind": "image-to-video",
    "description": "A catalogue entry with an image input, for the form.",
    "providers": [{"provider": "sandbox", "provider_model": "sandbox/text-to-video"}],
    "input_schema": {
        "type": "object",
        "additionalProperties": False,
        "required": ["prompt", "start_image"],
        "properties": {
            "prompt": {"type": "string", "minLength": 1},
            "start_image": {"type": "string", "format": "uri", "description": "First frame."},
        },
    },
}


def image_input_catalogue() -> dict[str, Any]:
    """An operator catalogue with that model, priced like the shipped sandbox model."""
    shipped = json.loads(files("reelhouse.gateway.catalog").joinpath("models.json").read_text())
    sandbox = next(m for m in shipped["models"] if m["id"] == "sandbox/text-to-video")
    return {"models": [{**IMAGE_INPUT_MODEL, "price": sandbox["price"]}]}


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
async def api(system: EmbeddedSystem) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {system.api_key}"}
    async with httpx.AsyncClient(base_url=system.gateway, headers=headers, timeout=10.0) as client:
        yield client


async def submit(api: httpx.AsyncClient, model: str, job_input: dict[str, Any]) -> dict[str, Any]:
    response = await api.post("/v1/generations", json={"model": model, "input": job_input})
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    return job


async def read_job(api: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    response = await api.get(f"/v1/generations/{job_id}")
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    return job


async def wait_final(api: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + JOB_WAIT_MS / 1000
    while time.monotonic() < deadline:
        job = await read_job(api, job_id)
        if job["status"] in FINAL:
            return job
        await asyncio.sleep(0.2)
    raise AssertionError(f"{job_id} not final in time")


class App:
    """The page, with every request it made."""

    def __init__(self, page: Page, key: str) -> None:
        self.page = page
        self.key = key
        self.requests: list[Request] = []
        page.on("request", self._record)

    def _record(self, request: Request) -> None:
        self.requests.append(request)

    def card(self, job_id: str) -> Locator:
        return self.page.locator(f"[data-testid=job-card][data-job-id='{job_id}']")

    async def status_log(self, job_id: str) -> list[str]:
        log: list[str] = await self.page.evaluate("(id) => window.statusLog[id] || []", job_id)
        return log

    async def wait_status(self, job_id: str, status: str) -> None:
        await (
            self.card(job_id)
            .and_(self.page.locator(f"[data-status={status}]"))
            .wait_for(timeout=JOB_WAIT_MS)
        )

    async def submit_form(self) -> dict[str, Any]:
        """Press Generate; the job the API answered with."""
        async with self.page.expect_response(
            lambda r: path_of(r.request) == "/v1/generations" and r.request.method == "POST"
        ) as answer:
            await self.page.get_by_test_id("submit").click()
        response = await answer.value
        job: dict[str, Any] = await response.json()
        assert response.status == 202, job
        assert response.request.headers.get("idempotency-key"), "no Idempotency-Key"
        return job


@pytest.fixture
async def app(browser: Browser, system: EmbeddedSystem) -> AsyncIterator[App]:
    async with opened(browser, system, width=1280, height=800) as page:
        yield page


@asynccontextmanager
async def opened(
    browser: Browser, system: EmbeddedSystem, *, width: int, height: int
) -> AsyncIterator[App]:
    """The app in a fresh browser context, connected with the key, its first page shown."""
    context = await browser.new_context(viewport={"width": width, "height": height})
    try:
        page = await context.new_page()
        page.set_default_timeout(WAIT_MS)
        await page.add_init_script(STATUS_RECORDER)
        app = App(page, system.api_key)
        await page.goto(f"{system.gateway}/")
        await page.get_by_test_id("api-key").fill(system.api_key)
        await page.get_by_test_id("api-key").press("Enter")
        await page.locator("#live-state[data-state=open]").wait_for()
        await page.locator("#cards[data-loaded]").wait_for(state="attached")
        yield app
    finally:
        await context.close()


def path_of(request: Request) -> str:
    return urlsplit(request.url).path


async def choose_model(page: Page, model: str) -> None:
    await page.get_by_test_id("model").select_option(model)


def cost_text(cost: dict[str, Any] | None) -> str:
    """What a card shows for a job's ``cost``: actual, ~estimate, or a dash when unknown."""

    def usd(value: float) -> str:
        return f"${value:.3f}" if 0 < value < 0.01 else f"${value:.2f}"

    if cost and cost.get("actual_usd") is not None:
        return usd(cost["actual_usd"])
    if cost and cost.get("estimate_usd") is not None:
        return "~" + usd(cost["estimate_usd"])
    return "—"


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


# a fake fetch() serving two connections: the first drops after two events (one split
# across chunks, one with CRLF line ends, a comment between), the second resumes
SSE_RESUME = r"""async () => {
  const { EventStream } = await import("/static/sse.js");
  const calls = [];
  const chunks = [
    ["retry: 100\n\n: keep-alive\n\nid: e1\nevent: t\ndata: {\"job_id\":\"a\",",
     "\"status\":\"queued\"}\n\nid: e2\r\nevent: t\r\ndata: {\"job_id\":\"a\",",
     "\"status\":\"running\"}\r\n\r\n"],
    ["id: e3\ndata: {\"job_id\":\"a\",\"status\":\"succeeded\"}\n\n"],
  ];
  window.fetch = async (url, init) => {
    calls.push({url, accept: init.headers.Accept, resume: init.headers["Last-Event-ID"] ?? null});
    const parts = chunks[calls.length - 1] ?? [];
    const body = new ReadableStream({start(c) {
      for (const part of parts) c.enqueue(new TextEncoder().encode(part));
      if (calls.length === 1) c.close();  // the drop
    }});
    return new Response(body, {headers: {"Content-Type": "text/event-stream"}});
  };
  const events = [];
  const stream = new EventStream("/v1/events", {onEvent: (e) => events.push(e)});
  stream.start();
  for (let i = 0; i < 200 && events.length < 3; i++) await new Promise((r) => setTimeout(r, 50));
  stream.stop();
  return {calls, events: events.map((e) => [e.id, e.type, e.data.status])};
}"""


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


async def play_and_seek(page: Page, player: Locator) -> float:
    """Play the player's video, seek near its end, see it play on; returns its duration."""
    await player.evaluate(
        "(v) => { window.seeks = 0; v.addEventListener('seeked', () => window.seeks++);"
        "  v.muted = true; }"
    )
    await page.wait_for_function("document.querySelector('[data-testid=player]').readyState >= 1")
    duration: float = await player.evaluate("(v) => v.duration")
    await player.evaluate("(v) => v.play()")
    await page.wait_for_function("document.querySelector('[data-testid=player]').currentTime > 0.5")
    target = max(duration - 2.0, 0.6)
    await player.evaluate(f"(v) => {{ v.currentTime = {target}; }}")
    await page.wait_for_function("window.seeks > 0")
    await page.wait_for_function(
        f"(() => {{ const v = document.querySelector('[data-testid=player]');"
        f"  return v.currentTime > {target + 0.3} && !v.paused; }})()"
    )
    assert await player.evaluate("(v) => v.error") is None
    return duration


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


async def card_ids(page: Page) -> list[str]:
    ids: list[str] = await page.evaluate(
        "[...document.querySelectorAll('[data-testid=job-card]')].map(c => c.dataset.jobId)"
    )
    return ids


async def shown_after_scrolling(page: Page) -> list[str]:
    """Scroll to the end of the gallery until the list says it is complete."""
    await page.locator("#cards[data-loaded]").wait_for(state="attached")
    deadline = time.monotonic() + WAIT_MS / 1000
    while await page.locator("#list-end").is_hidden():
        assert time.monotonic() < deadline, "the gallery never reached its end"
        await page.locator("#sentinel").scroll_into_view_if_needed()
        await page.wait_for_timeout(200)
    return await card_ids(page)


async def expected_ids(api: httpx.AsyncClient, **filters: str) -> list[str]:
    """The API's own answer for the same filters, every page."""
    ids: list[str] = []
    cursor: str | None = None
    while True:
        params = {**filters, "limit": "100", **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/v1/generations", params=params)).json()
        ids += [job["id"] for job in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            return ids


def solid_png(colour: tuple[int, int, int], size: tuple[int, int] = (320, 240)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


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


def write_small_png(png: bytes, path: Path) -> None:
    """A screenshot in 256 colours: the README's images stay small."""
    Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256).save(path, optimize=True)
