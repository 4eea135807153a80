"""Text a class reads from the back row: symbols survive upper-cased labels, menus are not cut, fields show
their values, nothing is refused without a word, and files have names that tell them apart."""

from __future__ import annotations

import pytest
from page_helpers import settle

pytestmark = pytest.mark.browser

CUT_OPTIONS = """() => {
    // options whose text does not fit their <select> (the arrow and padding take about 28 px)
    const ctx = document.createElement('canvas').getContext('2d');
    const cut = [];
    for (const select of document.querySelectorAll('.top-bar select, .tools select')) {
        const s = getComputedStyle(select);
        ctx.font = `${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
        for (const o of select.options) {
            if (ctx.measureText(o.text).width + 28 > select.offsetWidth) cut.push(`${select.getAttribute('aria-label')}: ${o.text}`);
        }
    }
    return cut;
}"""


def test_labels_and_menus_read_in_full(make_page, server):
    page = make_page(server.url + "/#optimizer=adam")
    page.get_by_text("Advanced", exact=True).click()
    assert page.locator(".ui-beta1 label").inner_text() == "β₁"
    assert page.locator(".ui-eps label").inner_text().startswith("ε")
    assert page.evaluate(CUT_OPTIONS) == []
    assert page.get_by_label("Number of samples", exact=True).input_value() == "500"  # the circle's 500 points


def test_the_loss_chart_is_not_a_blank_strip_before_the_first_epoch(page):
    """Before the first epoch the chart takes no room (the plot sits under the readouts); after it, it is
    there with its curve."""
    assert page.evaluate("window.nnplay.session.epoch") == 0
    assert not page.locator(".loss-chart").is_visible()
    for n in (1, 2):
        page.get_by_role("button", name="Step").click()
        page.wait_for_function("(n) => window.nnplay.chart.length >= n", arg=n)
    painted = page.evaluate("""() => { const c = document.querySelector('.loss-chart');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] > 0; return n; }""")
    assert painted > 20


def test_removing_the_last_input_says_why_it_is_refused(make_page, server):
    page = make_page(server.url + "/#y=false")
    page.get_by_role("button", name="Feature X₁", exact=True).click()
    assert page.get_by_role("status", name="Notices").get_by_text("at least one input").is_visible()
    assert page.evaluate("window.nnplay.state.values.features") == ["x1"]


def test_the_two_pngs_have_different_names(page):
    settle(page)
    page.get_by_text("Export", exact=True).click()
    names = []
    for button in ("Export a PNG of the view", "Export a server-rendered PNG of the plot"):
        with page.expect_download(timeout=15_000) as info:
            page.get_by_role("button", name=button).click()
        names.append(info.value.suggested_filename)
    assert names[0] != names[1] and all(n.endswith(".png") for n in names), names


def test_gif_fields_refuse_what_the_server_would(page):
    page.get_by_text("Export", exact=True).click()
    epochs = page.get_by_label("GIF epochs", exact=True)
    button = page.get_by_role("button", name="Export an animated GIF")
    for bad in ("0", "2.5", "999999", ""):
        epochs.fill(bad)
        assert button.is_disabled(), bad
        assert "GIF epochs: a whole number from 1 to" in page.get_by_label("GIF status").inner_text()
    epochs.fill("20")
    assert button.is_enabled() and page.get_by_label("GIF status").inner_text() == ""
