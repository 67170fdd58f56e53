"""The web app: a small client of the public API, served by the gateway at ``/``.

``index.html`` loads plain ES modules and a stylesheet from ``/static/`` (files of this
package, no build step). They are revalidated on every load (``Cache-Control: no-cache``
with the ``ETag`` and ``Last-Modified`` of ``StaticFiles``), so an upgrade is never
hidden behind a stale cached module, and a repeat visit costs a ``304``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import PurePosixPath

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_PATH = "/static"
PACKAGE = "reelhouse.gateway.web"

# the only kinds of file served, with their types stated here rather than guessed from the
# platform's MIME table (a module script must be JavaScript, or the browser refuses it)
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
CACHE_CONTROL = "no-cache"

router = APIRouter(tags=["web"], include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def index() -> HTMLResponse:
    page = files(PACKAGE).joinpath("index.html").read_text(encoding="utf-8")
    return HTMLResponse(page, headers={"Cache-Control": CACHE_CONTROL})


class WebAssets(StaticFiles):
    """The app's files: known types only, each with its stated type, revalidated on use."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        content_type = CONTENT_TYPES.get(PurePosixPath(path).suffix.lower())
        if content_type is None:
            return Response("Not Found", status_code=404, media_type="text/plain")
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = CACHE_CONTROL
            response.headers["X-Content-Type-Options"] = "nosniff"
        if response.status_code == 200:
            response.headers["Content-Type"] = content_type
        return response


def install_web(app: FastAPI) -> None:
    """The page at ``/`` and its modules and stylesheet under ``/static/``."""
    app.include_router(router)
    app.mount(STATIC_PATH, WebAssets(packages=[(PACKAGE, "static")]), name="web-static")
