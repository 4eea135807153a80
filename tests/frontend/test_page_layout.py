"""Layouts for a lecture hall: phone, 1024×768 projector, laptop, 1080p. One page is resized through the four
sizes (screenshots in artifacts/layout-*.png); at each the columns must not overlap and the plot, Play and the
epoch counter must be on the first screen where the playground has them there."""

from __future__ import annotations

import pytest
from page_helpers import contrast_failures, screenshot, settle, wait_ready

pytestmark = pytest.mark.browser

BOXES = """() => {
    const box = (s) => { const r = document.querySelector(s).getBoundingClientRect();
                         return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width}; };
    return {plot: box('.plot'), play: box('.play-button'), epoch: box('.epoch-number'), network: box('.network-column'),
            output: box('.output-column'), data: box('.data-column'), scroll: box('.net-scroll'),
            outputNode: box('.node.output'), heads: box('.layer-heads')};
}"""


def resize(page, width: int, height: int) -> dict:
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_function("(w) => window.innerWidth === w", arg=width)
    page.wait_for_timeout(300)  # the network's layout follows a resize after 150 ms
    return page.evaluate(BOXES)


def inside(box: dict, width: int, height: int) -> bool:
    return box["left"] >= 0 and box["top"] >= 0 and box["right"] <= width and box["bottom"] <= height


def test_layouts_from_phone_to_projector(page):
    # 1024×768 projector (and 1280×720 at 150 % zoom: 853 px): three columns side by side, all on screen
    for width, height in [(1024, 768), (853, 480)]:
        boxes = resize(page, width, height)
        screenshot(page, f"layout-{width}x{height}.png")
        assert boxes["data"]["right"] <= boxes["network"]["left"] and boxes["network"]["right"] <= boxes["output"]["left"], width
        assert boxes["output"]["right"] <= width, width
        if height == 768:
            for name in ("plot", "play", "epoch"):
                assert inside(boxes[name], width, height), (name, boxes[name])
    # 1080p: the plot uses the room there is
    boxes = resize(page, 1920, 1080)
    screenshot(page, "layout-1920x1080.png")
    assert boxes["plot"]["width"] >= 400 and inside(boxes["plot"], 1920, 1080)
    assert boxes["network"]["right"] <= boxes["output"]["left"]
    # laptop
    boxes = resize(page, 1280, 800)
    screenshot(page, "layout-1280x800.png")
    assert all(inside(boxes[name], 1280, 800) for name in ("plot", "play", "epoch"))
    # phone: one column, plot above the network; the Export menu opens on the screen, GIF fields included
    boxes = resize(page, 390, 844)
    assert boxes["plot"]["right"] <= 390 and boxes["output"]["bottom"] <= boxes["network"]["top"]
    page.get_by_text("Export", exact=True).click()
    panel = page.locator(".exports .menu-panel").bounding_box()
    assert panel["x"] >= 0 and panel["x"] + panel["width"] <= 390, panel
    for label in ("GIF epochs", "Frame every (epochs)"):
        field = page.get_by_label(label, exact=True).bounding_box()
        assert field["x"] >= 0 and field["x"] + field["width"] <= 390, label
    screenshot(page, "layout-390x844-export.png")
    assert page.errors == []


def test_a_deep_network_stays_in_its_column(page):
    """Ten hidden layers at 1280 px: the output node is visible without scrolling and the layer buttons do not
    run under the output column."""
    page.evaluate("window.nnplay.state.set({hidden: [4, 4, 4, 4, 4, 4, 4, 4, 4, 4]})")
    settle(page)
    boxes = page.evaluate(BOXES)
    screenshot(page, "layout-10-layers.png")
    assert boxes["outputNode"]["right"] <= boxes["scroll"]["right"] <= boxes["output"]["left"], boxes
    assert min(boxes["heads"]["right"], boxes["scroll"]["right"]) <= boxes["output"]["left"]
    heads = page.locator(".layer-head").evaluate_all("(hs) => hs.map((h) => h.getBoundingClientRect()).map((r) => [r.left, r.right])")
    assert all(a[1] <= b[0] for a, b in zip(heads, heads[1:])), heads  # no two layers' buttons overlap


def test_every_page_meets_the_contrast_minimum(page, server):
    """WCAG AA contrast (4.5:1, large text 3:1) for every visible text of the playground, an embed and the
    compare view; and for the lesson note and the walk-through's values, whose colours style.css mixes from
    the palette."""
    assert contrast_failures(page) == []
    for path in ("/embed#controls=play,reset,epoch,loss,chart,learningRate", "/compare"):
        page.goto(server.url + path)
        wait_ready(page)
        assert contrast_failures(page) == [], path
    page.goto(server.url + "/#preset=xor_hidden&insights=walkthrough")
    wait_ready(page)
    page.evaluate("window.nnplay.walkthrough.pickIndex(0)")
    page.wait_for_function("window.nnplay.walkthrough.trace !== null")
    page.evaluate("window.nnplay.walkthrough.go(Infinity)")  # the last step: a and δ on every neuron, ∂L/∂w on links
    page.locator(".wt-link").first.wait_for()
    assert page.locator(".lesson-note").is_visible() and page.locator(".wt-grad").count() > 0
    assert contrast_failures(page) == []
