"""The page: ``frontend/`` as static files at ``/`` (``index.html``), or a placeholder until it exists.

The page is package data (``nnplay/frontend`` in a wheel, ``frontend/`` in a checkout): Settings.frontend_dir
finds it beside the server package either way.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from nnplay.engine import __version__

PLACEHOLDER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nnplay</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>nnplay {version}</h1>
<p>The server is running; the page is not installed here (no <code>frontend/index.html</code>).</p>
<p>See <a href="/docs">the API documentation</a>, <a href="/api/options">the options</a>, or connect a
WebSocket client to <code>/ws</code> (docs/protocol.md).</p>
</body></html>
"""


def page_router(frontend: Path) -> APIRouter:
    """``GET /``, ``/embed``, ``/compare``: the pages' HTML, read at request time (the page can be deployed
    while serving)."""
    router = APIRouter(tags=["page"])

    def page(name: str):
        async def serve() -> FileResponse | HTMLResponse:
            path = frontend / name
            if path.is_file():
                return FileResponse(path, media_type="text/html")
            return HTMLResponse(PLACEHOLDER.format(version=__version__))

        return serve

    # the playground; /embed: the plot and the controls a link keeps, for iframes in slides;
    # /compare: 2–4 variants side by side. All three read their setup from the URL hash.
    for route, name in (("/", "index.html"), ("/embed", "embed.html"), ("/compare", "compare.html")):
        router.add_api_route(route, page(name), methods=["GET"], include_in_schema=False, response_model=None)
    return router


class PageFiles(StaticFiles):
    """The page's assets. A missing file is a 404, and so is every file while the folder itself is missing
    (Starlette's StaticFiles answers 500 then)."""

    async def check_config(self) -> None:
        return None
