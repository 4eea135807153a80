"""Browser tests of the page (frontend/): a real nnplay server in a subprocess, Debian's Chromium (the
``browser`` and ``make_page`` fixtures of tests/conftest.py) driven by Playwright's sync API."""

from __future__ import annotations

import pytest
from page_helpers import Server


@pytest.fixture(scope="session")
def server():
    running = Server().start()
    yield running
    running.stop()


@pytest.fixture
def page(make_page, server):
    return make_page(server.url + "/")
