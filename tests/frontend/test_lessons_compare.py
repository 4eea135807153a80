"""The compare view: two optimisers on the same data from the same weights, two heatmaps, two loss curves
on one chart, one Play for both; its URL state; the variant editor; embedded with controls=."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest
from lesson_helpers import host_page, wait_frame_ready
from page_helpers import ARTIFACTS, canvas_colours, screenshot, settle

pytestmark = pytest.mark.browser

VARIANTS = [{"optimizer": "sgd"}, {"optimizer": "adam", "learning_rate": 0.01}]
LABELS = ["SGD", "Adam"]
SETUP = ("dataset=spiral&networkShape=8,8&x=true&y=true&sinX=true&sinY=true&seed=5&speed=max"
         f"&variants={urllib.parse.quote(json.dumps(VARIANTS))}&labels={urllib.parse.quote(json.dumps(LABELS))}")


def chart_colours(page) -> set[tuple[int, int, int]]:
    return set(map(tuple, page.evaluate("""() => {
        const c = document.querySelector('.compare-chart');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const seen = new Set();
        for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 200) seen.add(`${d[i]},${d[i + 1]},${d[i + 2]}`);
        return [...seen].map((s) => s.split(',').map(Number));
    }""")))


def test_two_optimisers_two_heatmaps_two_curves(make_page, server):
    page = make_page(server.url + "/compare#" + SETUP)
    assert page.locator(".variant-card").count() == 2
    assert page.locator(".variant-title").all_inner_texts() == ["SGD", "Adam"]
    state = page.evaluate("window.nnplay.session.serverState")
    assert [v["overrides"] for v in state["variants"]] == VARIANTS
    assert [v["label"] for v in state["variants"]] == LABELS
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("window.nnplay.view.cards.every((c) => c.lastEpoch >= 60)", timeout=30_000)
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Play").wait_for()
    page.wait_for_timeout(300)
    for k in range(2):
        assert canvas_colours(page, f'.variant-card[data-variant="{k}"] canvas.heatmap') > 10, f"variant {k} heatmap"
    # two curves in the variants' colours (Okabe–Ito blue and orange)
    colours = chart_colours(page)
    assert any(abs(r - 0x00) < 40 and abs(g - 0x72) < 40 and abs(b - 0xB2) < 40 for r, g, b in colours), "SGD's curve"
    assert any(abs(r - 0xE6) < 40 and abs(g - 0x9F) < 40 and abs(b - 0x00) < 40 for r, g, b in colours), "Adam's curve"
    lengths = page.evaluate("window.nnplay.view.cards.map((c) => c.store.length)")
    assert min(lengths) >= 50
    finals = page.evaluate("window.nnplay.view.cards.map((c) => c.store.value(c.store.length - 1, 0))")
    assert finals[1] < finals[0], "Adam is ahead of plain SGD on the spiral"
    legend = page.get_by_label("Variants", exact=True).inner_text()
    assert "SGD" in legend and "Adam" in legend
    screenshot(page, "compare.png")
    assert page.errors == []


def test_variants_are_edited_and_kept_in_the_link(make_page, server):
    page = make_page(server.url + "/compare#" + SETUP)
    page.get_by_label("Optimizer (variant 2)").select_option("momentum")
    page.wait_for_function("window.nnplay.session.serverState.variants?.[1].overrides.optimizer === 'momentum'")
    page.get_by_role("button", name="Add a variant").click()
    page.get_by_label("Add a setting to variant 3").select_option("init")
    page.get_by_label("Initialiser (variant 3)").select_option("zeros")
    page.wait_for_function("window.nnplay.session.serverState.variants?.length === 3")
    settle(page)
    variants = json.loads(urllib.parse.unquote(page.evaluate("location.hash").split("variants=")[1].split("&")[0]))
    assert variants[1]["optimizer"] == "momentum" and variants[2]["init"] == "zeros"
    page.get_by_role("button", name="Remove variant 1").click()
    page.wait_for_function("window.nnplay.session.serverState.variants?.length === 2")
    assert page.get_by_role("button", name="Remove variant 1").is_disabled(), "at least two variants"
    page.get_by_role("link", name="Playground").click()
    page.wait_for_url("**/#**")
    assert "variants=" not in page.evaluate("location.hash")
    assert page.errors == []


def test_compare_embeds_with_controls(browser, server):
    src = f"{server.url}/compare#{SETUP}&controls=play,reset,chart&autoplay=true"
    html = f'<iframe src="{src}" width="640" height="420" style="border:0"></iframe>'
    page = host_page(browser, html)
    try:
        frame = page.frames[1]
        wait_frame_ready(frame)
        frame.wait_for_function("window.nnplay.view.cards.every((c) => c.lastEpoch >= 5)", timeout=20_000)
        assert frame.get_by_role("button", name="Pause").is_visible()
        assert frame.get_by_role("button", name="Step").count() == 0
        assert frame.locator(".site-header").is_hidden() and frame.locator(".variant-editor").count() == 0
        assert frame.locator(".variant-card .plot").count() == 2
        page.locator("iframe").screenshot(path=str(ARTIFACTS / "compare_embed.png"))
        assert page.errors == []
    finally:
        page.context.close()


def test_compare_on_a_small_screen_connects_and_fits(make_page, server):
    page = make_page(server.url + "/compare#" + SETUP, width=480, height=360)  # waits for the connection
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    assert page.locator(".variant-card").count() == 2
    assert page.errors == []


def test_four_variants_lay_out_two_by_two_and_export(make_page, server):
    four = [{"optimizer": o} for o in ("sgd", "momentum", "rmsprop", "adam")]
    page = make_page(server.url + "/compare#dataset=gauss&networkShape=3&seed=2&variants="
                     + urllib.parse.quote(json.dumps(four)), width=1280, height=800)
    boxes = page.locator(".variant-card").evaluate_all("(cs) => cs.map((c) => c.getBoundingClientRect()).map((r) => [r.left, r.top])")
    assert len({round(x) for x, _ in boxes}) == 2 and len({round(y) for _, y in boxes}) == 2, boxes  # 2 × 2
    page.evaluate("(n) => window.nnplay.hub.emit('command', {type: 'step', n})", 5)
    page.wait_for_function("window.nnplay.view.cards.every((c) => c.lastEpoch >= 5)")
    page.get_by_text("Export", exact=True).click()
    with page.expect_download() as info:
        page.get_by_role("button", name="Export the loss histories as CSV").click()
    lines = Path(info.value.path()).read_text().splitlines()
    assert lines[0].split(",")[0] == "epoch" and len(lines[0].split(",")) == 1 + 2 * 4
    assert lines[-1].split(",")[0] == "5" and all(cell != "" for cell in lines[-1].split(","))
    with page.expect_download() as info:
        page.get_by_role("button", name="Export a PNG of the comparison").click()
    image = pytest.importorskip("PIL.Image")
    with image.open(info.value.path()) as png:
        assert png.format == "PNG" and png.width > 1200 and png.height > 1300  # 2 × 2 panels at 2× scale
    page.keyboard.press("Escape")
    assert page.evaluate("document.querySelector('.exports').open") is False
    screenshot(page, "compare-four.png")
