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


def test_an_outage_while_playing_shows_it_pauses_and_keeps_the_chart(make_page, own_server):
    page = make_page(own_server.url + "/#dataset=gauss&networkShape=3&seed=5")
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("window.nnplay.chart.length >= 10", timeout=20_000)
    own_server.stop()
    banner = page.get_by_role("alert").filter(has_text="Connection lost")
    banner.wait_for(timeout=10_000)
    page.get_by_role("button", name="Play").wait_for(timeout=5_000)  # not "Pause": nothing trains now
    rows = page.evaluate("window.nnplay.chart.store.rows()")
    own_server.start()
    page.get_by_role("button", name="Pause").wait_for(timeout=20_000)  # it plays on by itself
    banner.wait_for(state="hidden")
    page.wait_for_function("(n) => window.nnplay.chart.length > n", arg=len(rows), timeout=20_000)
    after = page.evaluate("window.nnplay.chart.store.rows()")
    assert after[:len(rows)] == rows, "the loss chart keeps its history over a reconnect"
