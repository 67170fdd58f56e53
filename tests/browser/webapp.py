"""The web app under test: its page (``App``), the API calls the tests make, small helpers.

Used by tests/browser/test_web_app.py (one system per module there).
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from PIL import Image
from playwright.async_api import Browser, Locator, Page, Request

from tests.e2e.conftest import EmbeddedSystem
from tests.e2e.jobs import FINAL

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


async def submit(api: httpx.AsyncClient, model: str, job_input: dict[str, Any]) -> dict[str, Any]:
    response = await api.post("/v1/generations", json={"model": model, "input": job_input})
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    return job


async def read_job(
    api: httpx.AsyncClient, job_id: str, collection: str = "/v1/generations"
) -> dict[str, Any]:
    """A job (or, with ``collection="/v1/compositions"``, a composition) as the API shows it."""
    response = await api.get(f"{collection}/{job_id}")
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    return job


async def wait_final(
    api: httpx.AsyncClient, job_id: str, collection: str = "/v1/generations"
) -> dict[str, Any]:
    deadline = time.monotonic() + JOB_WAIT_MS / 1000
    while time.monotonic() < deadline:
        job = await read_job(api, job_id, collection)
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


@asynccontextmanager
async def opened(
    browser: Browser,
    system: EmbeddedSystem,
    *,
    width: int,
    height: int,
    init_scripts: tuple[str, ...] = (),
) -> AsyncIterator[App]:
    """The app in a fresh browser context, connected with the key, its first page shown.

    ``init_scripts`` run before the page's own, after the status recorder.
    """
    context = await browser.new_context(viewport={"width": width, "height": height})
    try:
        page = await context.new_page()
        page.set_default_timeout(WAIT_MS)
        for script in (STATUS_RECORDER, *init_scripts):
            await page.add_init_script(script)
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


def write_small_png(png: bytes, path: Path) -> None:
    """A screenshot in 256 colours: the README's images stay small."""
    Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256).save(path, optimize=True)


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
