"""Helpers for the lesson-feature browser tests: host pages with iframes, waiting on an embedded page,
downloads."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest


def host_page(browser, html: str, width: int = 1000, height: int = 700):
    """A fresh page showing `html` (iframes to the server); its WebSockets (iframes' too) are in
    ``page.sockets`` and its console errors in ``page.errors``. Close it with ``page.context.close()``."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.errors, page.sockets = [], []
    page.on("console", lambda m: m.type == "error" and page.errors.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: page.errors.append(f"pageerror: {e}"))
    page.on("websocket", lambda ws: page.sockets.append(ws.url))
    page.set_content(html)
    return page


def wait_frame_ready(frame, timeout: float = 15_000) -> None:
    # Polled on a timer: Playwright's default polls on requestAnimationFrame, which Chromium may not run
    # in an off-screen cross-origin iframe (the off-screen embed test timed out now and then)
    frame.wait_for_function("document.body.dataset.ready === 'true'", timeout=timeout, polling=100)


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def presets(server) -> list[dict]:
    """The server's lesson presets (skips the test when the server has none)."""
    try:
        found = get_json(server.url + "/api/presets")["presets"]
    except OSError as error:
        pytest.skip(f"GET /api/presets: {error}")
    return found


def download(page, click) -> Path:
    """Run `click()` and return the path of the file it downloads."""
    with page.expect_download(timeout=15_000) as info:
        click()
    return Path(info.value.path())


def wait_epoch(page_or_frame, at_least: int, timeout: float = 20_000) -> None:
    page_or_frame.wait_for_function("(n) => window.nnplay.session.epoch >= n", arg=at_least, timeout=timeout)
