"""``GET /p/{prediction_id}``: the human page ``urls.web`` points at."""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from reelhouse.sandbox.context import context_of


async def prediction_page(request: Request) -> HTMLResponse:
    prediction = context_of(request).store.get(request.path_params["prediction_id"])
    if prediction is None:
        return HTMLResponse("<h1>No such prediction</h1>", status_code=404)
    media = ""
    for url in prediction.output or []:
        safe = html.escape(url, quote=True)
        tag = "video controls" if prediction.model.endswith("video") else "img"
        media += f'<p><{tag} src="{safe}" style="max-width:100%"></p>'
    prompt = html.escape(str(prediction.input.get("prompt", "")))
    body = (
        f"<!DOCTYPE html><html><head><title>{html.escape(prediction.id)}</title></head><body>"
        f"<h1>{html.escape(prediction.model)}</h1><p>{prompt}</p>"
        f"<p>Status: <b>{html.escape(str(prediction.status))}</b></p>{media}"
        f"<pre>{html.escape(prediction.logs)}</pre>"
        f"<p>{html.escape(prediction.error or '')}</p></body></html>"
    )
    return HTMLResponse(body)


routes = [Route("/p/{prediction_id}", prediction_page, methods=["GET"])]
