"""The embed page (/embed#<state>) in iframes: kept and removed controls, sized to its frame, no socket and
no training while off screen, autoplay once shown; the main page's Embed dialog."""

from __future__ import annotations

import pytest
from lesson_helpers import get_json, host_page, wait_frame_ready
from page_helpers import ARTIFACTS, screenshot

pytestmark = pytest.mark.browser

SETUP = "dataset=xor&networkShape=4&x=true&y=true&learningRate=0.1&seed=3"


def iframe(server, hash_: str, width: int = 480, height: int = 360) -> str:
    return f'<iframe src="{server.url}/embed#{hash_}" width="{width}" height="{height}" style="border:0"></iframe>'


def test_embed_keeps_only_the_listed_controls_and_autoplays(browser, server):
    html = "<p>slide</p>" + iframe(server, SETUP + "&controls=play,reset,learningRate&autoplay=true")
    page = host_page(browser, html)
    try:
        frame = page.frames[1]
        wait_frame_ready(frame)
        frame.wait_for_function("window.nnplay.session.epoch >= 5", timeout=20_000)
        assert frame.get_by_role("button", name="Pause").is_visible(), "autoplay: training runs"
        assert frame.get_by_role("button", name="Reset").is_visible()
        assert frame.get_by_label("Learning rate", exact=True).is_visible()
        for absent in ("Step", "Activation", "Optimizer", "Epoch", "Regularization", "Speed", "Training loss",
                       "Show test data", "Connection"):
            assert frame.get_by_label(absent, exact=True).count() == 0, f"{absent} should not be in the embed"
        assert frame.locator(".site-header, .data-column, .network-column").count() == 0
        left, top, right, bottom = rect(frame, ".plot")
        assert right - left >= 300 and abs((right - left) - (bottom - top)) < 2, "a square plot fills most of the frame"
        assert left >= 0 and top >= 0 and right <= 480 and bottom <= 360
        assert frame.evaluate("document.documentElement.scrollWidth <= innerWidth")
        ARTIFACTS.mkdir(exist_ok=True)
        page.wait_for_timeout(300)
        page.locator("iframe").screenshot(path=str(ARTIFACTS / "embed_480x360.png"))
        assert page.errors == []
    finally:
        page.context.close()


def test_offscreen_embed_opens_no_socket_until_shown(browser, server):
    before = get_json(server.url + "/api/health")["sessions"]
    html = '<div style="height:2400px">a tall slide</div>' + iframe(server, SETUP + "&autoplay=true")
    page = host_page(browser, html, height=600)
    try:
        frame = page.frames[1]
        wait_frame_ready(frame)
        page.wait_for_timeout(1200)
        assert page.sockets == [], "an off-screen embed opened a WebSocket"
        assert frame.evaluate("window.nnplay.socket.started") is False
        assert get_json(server.url + "/api/health")["sessions"] <= before
        assert frame.evaluate("window.nnplay.session.epoch") == 0
        page.locator("iframe").scroll_into_view_if_needed()
        frame.wait_for_function("window.nnplay.session.epoch >= 3", timeout=20_000)
        assert len(page.sockets) == 1
        assert frame.get_by_role("button", name="Pause").is_visible(), "autoplay starts once the frame is shown"
        page.mouse.wheel(0, -3000)  # off screen again: training pauses
        frame.get_by_role("button", name="Play").wait_for(timeout=10_000)
        assert page.errors == []
    finally:
        page.context.close()


def rect(frame, selector: str) -> list[float]:
    """left, top, right, bottom of an element in the frame's own coordinates."""
    return frame.evaluate("(s) => { const r = document.querySelector(s).getBoundingClientRect();"
                          " return [r.left, r.top, r.right, r.bottom]; }", selector)


def test_embed_fits_a_320x240_frame(browser, server):
    page = host_page(browser, iframe(server, SETUP, 320, 240))
    try:
        frame = page.frames[1]
        wait_frame_ready(frame)
        frame.wait_for_function("window.nnplay.socket.open && window.nnplay.session.lastFrame !== null")
        for selector in ('[aria-label="Play"]', '[aria-label="Reset"]', '[aria-label="Epoch"]', ".plot"):
            left, top, right, bottom = rect(frame, selector)
            assert left >= 0 and top >= 0 and right <= 320 and bottom <= 240, selector
        assert frame.get_by_role("button", name="Step").count() == 0, "the default keeps Play, Reset and the epoch"
        left, top, right, bottom = rect(frame, ".plot")
        assert right - left >= 180, "the plot takes most of the frame"
        page.locator("iframe").screenshot(path=str(ARTIFACTS / "embed_320x240.png"))
        assert page.errors == []
    finally:
        page.context.close()


def test_embed_dialog_builds_the_snippet(page):
    page.get_by_role("button", name="Embed", exact=True).click()
    dialog = page.get_by_role("dialog", name="Embed this setup")
    dialog.wait_for()
    page.get_by_label("Keep Step").check()
    page.get_by_label("Keep Epoch counter").uncheck()
    page.get_by_label("Autoplay when shown").check()
    code = page.get_by_label("Embed code").input_value()
    link = page.get_by_label("Embed link").input_value()
    assert code.startswith("<iframe ") and 'width="480" height="360"' in code
    assert "/embed#" in link and "controls=play,step,reset" in link and "autoplay=true" in link
    assert "dataset=circle" in link and link.replace("&", "&amp;") in code
    page.get_by_role("button", name="Copy code").click()
    page.get_by_text("code copied").wait_for()
    screenshot(page, "embed_dialog.png")
    page.get_by_role("button", name="Close").click()
    assert not dialog.is_visible()
    assert page.errors == []


OFF_SCREEN = """() => [...document.querySelectorAll('.embed-root *')].filter((e) => {
    const r = e.getBoundingClientRect();
    return r.width && r.height && (r.right > innerWidth + 0.5 || r.bottom > innerHeight + 0.5);
}).map((e) => e.getAttribute('aria-label') || e.className || e.tagName)"""


def test_a_320x240_embed_keeps_every_kept_control_on_screen(make_page, server):
    page = make_page(server.url + "/embed#controls=play,reset,epoch,loss,chart,learningRate", width=320, height=240)
    assert page.evaluate(OFF_SCREEN) == []
    assert page.get_by_role("img", name="Loss chart: training loss (grey) and test loss (black)").is_visible()
    assert page.get_by_label("Learning rate", exact=True).is_visible()


def test_an_embed_can_keep_the_network_diagram(make_page, server):
    page = make_page(server.url + "/embed#controls=play,epoch,network&networkShape=4,2", width=480, height=360)
    neurons = page.get_by_role("img", name="Neuron")
    assert neurons.count() == 6 and all(neurons.nth(i).is_visible() for i in range(6))
    assert page.get_by_role("img", name="Output", exact=True).is_visible()
    assert page.evaluate(OFF_SCREEN) == []
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("window.nnplay.session.epoch >= 5")
    painted = page.evaluate("window.nnplay.network.layout.styles.filter((s) => s >= 0).length")
    assert painted > 0, "the links follow the weights"
