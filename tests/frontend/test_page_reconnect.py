"""A dropped connection shows its state, reconnects and restores the session from the page state."""

from __future__ import annotations

import pytest
from page_helpers import Server, server_state, settle

pytestmark = pytest.mark.browser


@pytest.fixture
def own_server():
    running = Server().start()
    yield running
    running.stop()


def test_dropped_connection_recovers(make_page, own_server):
    page = make_page(own_server.url + "/#dataset=xor&networkShape=3,2&activation=sigmoid&seed=11")
    page.get_by_role("button", name="Step").click()
    page.wait_for_function("window.nnplay.session.epoch === 1")
    weights = page.evaluate("Array.from(window.nnplay.session.lastFrame.arrays.weights)")
    status = page.get_by_role("status", name="Connection")
    own_server.stop()
    status.filter(has_text="reconnecting").wait_for(timeout=10_000)
    own_server.start()
    status.filter(has_text="connected").wait_for(timeout=20_000)
    page.wait_for_function("window.nnplay.session.serverState.config.dataset === 'xor'",
                           timeout=10_000)
    settle(page)
    config = server_state(page)["config"]
    assert config["hidden"] == [3, 2] and config["activation"] == "sigmoid" and config["seed"] == 11
    restored = page.evaluate("Array.from(window.nnplay.session.lastFrame.arrays.weights)")
    assert restored == pytest.approx(weights, abs=1e-6), "the weights come back with the session"
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("window.nnplay.session.epoch >= 5", timeout=20_000)
    assert page.errors == [] or all("WebSocket" in e for e in page.errors)
