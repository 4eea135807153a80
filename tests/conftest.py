"""Fixtures shared by the test folders: Debian's Chromium driven by Playwright (the page's tests in
tests/frontend, the deployment's in tests/deploy). Never runs ``playwright install``; skips when
/usr/bin/chromium is missing."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

# Every server the tests create or start keeps its SQLite store in a folder of this run, never in the user's.
_DATA_DIR = tempfile.mkdtemp(prefix="nnplay-tests-data-")
os.environ["NNPLAY_DATA_DIR"] = _DATA_DIR
atexit.register(shutil.rmtree, _DATA_DIR, ignore_errors=True)

sys.path.insert(0, str(Path(__file__).resolve().parent / "frontend"))  # page_helpers, for every browser test
from page_helpers import wait_ready  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium package to run the browser tests)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class PageErrors(list):
    """Console errors and uncaught exceptions seen by a page."""


@pytest.fixture
def make_page(browser):
    """``make_page(url, width=1280, height=800)``: a fresh context and page, loaded and ready; the console
    errors it logs are in ``page.errors``."""
    contexts = []

    def make(url: str, width: int = 1280, height: int = 800):
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.errors = PageErrors()
        page.on("console", lambda m: m.type == "error" and page.errors.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: page.errors.append(f"pageerror: {e}"))
        page.goto(url)
        wait_ready(page)
        return page

    yield make
    for context in contexts:
        context.close()
