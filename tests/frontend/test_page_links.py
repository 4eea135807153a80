"""Setups travel in links: hand-drawn points open identically from the page's link, its short link and its
embed in a fresh browser (another machine: no localStorage); a link that lost its points, and a short link
the server does not know, say so instead of showing other data."""

from __future__ import annotations

import numpy as np
import pytest
from page_helpers import settle

from test_page_custom import click_plot, wait_points

pytestmark = pytest.mark.browser

DRAWN = [(-3, 3, False), (3, -3, True), (-2.5, -1.25, False), (4, 2, True), (0.5, 4.5, False), (-4, -4, True)]
READOUTS = ("Test loss", "Training loss", "Test accuracy", "Training accuracy")


def what_it_shows(page) -> dict:
    """The points the page holds, what the server trains on, and the readouts of the first frame."""
    settle(page)
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")  # drawn
    state = page.evaluate("window.nnplay.session.serverState")
    return {"points": page.evaluate("window.nnplay.state.customPoints()"),
            "served": state["config"]["custom_points"], "split": (state["n_train"], state["n_test"]),
            "seed": state["config"]["seed"],
            **{name: page.get_by_label(name, exact=True).inner_text() for name in READOUTS}}


def draw(page) -> None:
    page.get_by_role("button", name="Dataset: Custom").click()
    page.get_by_role("button", name="Clear points").click()
    for x1, x2, other in DRAWN:
        click_plot(page, x1, x2, modifiers=["Shift"] if other else [])
    wait_points(page, len(DRAWN))


def test_a_drawn_setup_opens_identically_from_its_link_short_link_and_embed(make_page, server):
    drawer = make_page(server.url + "/#seed=4242&networkShape=3")
    draw(drawer)
    drawn = what_it_shows(drawer)
    assert [p[2] for p in drawn["points"]] == [1, -1, 1, -1, 1, -1]
    for point, (x1, x2, _) in zip(drawn["points"], DRAWN, strict=True):
        assert point[:2] == pytest.approx([x1, x2], abs=0.1) and [round(v, 2) for v in point[:2]] == point[:2]
    link = drawer.url
    assert len(link.split("&points=")[1]) < 50, "six drawn points take a few characters each"
    field = drawer.get_by_label("Link to share")
    drawer.get_by_role("button", name="Copy link").click()
    field.wait_for()
    assert field.input_value() == link, "a link under 2,000 characters is shared whole"
    drawer.get_by_role("button", name="Short link").click()
    drawer.wait_for_function("document.querySelector('.share-link').value.includes('/s/')")
    short = field.input_value()
    assert short.startswith(server.url + "/s/") and len(short) - len(server.url) == len("/s/xxxxx-xxxxx"), short

    for opened in (link, short):
        page = make_page(opened)  # a fresh context: nothing in its localStorage
        assert page.evaluate("window.nnplay.state.datasetName()") == "custom"
        assert what_it_shows(page) == drawn, opened
        assert page.errors == []
    drawer.get_by_role("button", name="Embed", exact=True).click()
    snippet_link = drawer.get_by_label("Embed link").input_value()
    for opened in (snippet_link, short + "/embed"):  # the Embed dialog's link, and the short link's embed form
        embed = make_page(opened)
        assert embed.url.startswith(server.url + "/embed#")
        settle(embed)
        assert embed.evaluate("window.nnplay.state.customPoints()") == drawn["points"], opened
        assert embed.evaluate("window.nnplay.session.serverState.config.custom_points") == drawn["served"]
        assert embed.evaluate("window.nnplay.session.serverState.config.seed") == drawn["seed"]


def test_a_link_without_its_points_and_an_unknown_short_link_say_so(make_page, server):
    page = make_page(server.url + "/")
    draw(page)  # this browser now keeps points of its own
    page.goto(server.url + "/?again#dataset=custom&seed=3")
    page.wait_for_function("document.body.dataset.ready === 'true'")
    alert = page.locator(".missing-data")
    alert.wait_for()
    assert "This link names custom data but carries none of its points" in alert.inner_text()
    assert page.evaluate("window.nnplay.state.customPoints()") == [], "never this browser's own points"
    assert page.locator(".plot-hint").inner_text() == alert.inner_text(), "said on the plot too"
    page.wait_for_function("window.nnplay.socket.open")
    page.wait_for_timeout(500)  # the server's greeting (a run of its default data) has arrived by now
    assert [page.get_by_label(name, exact=True).inner_text() for name in READOUTS] == ["–"] * 4, "no made-up readouts"
    assert page.evaluate("window.nnplay.session.lastFrame") is None
    painted = page.evaluate("""() => [...document.querySelectorAll('.plot canvas')].map((c) =>
        c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v) => v !== 0))""")
    assert painted == [False, False], "no other data's heatmap or points on the plot"

    cut = server.url + "/?cut#dataset=custom&points=1AAAG"  # a link cut short by a mail program
    page.goto(cut)
    page.wait_for_function("document.body.dataset.ready === 'true'")
    assert "cannot be read (the points end early" in page.locator(".missing-data").inner_text()

    embed = make_page(server.url + "/")  # a fresh browser: the embed has no data panel, the plot says it
    embed.goto(server.url + "/embed#dataset=custom&seed=3")
    embed.locator(".plot-hint").get_by_text("This link names custom data but carries none of its points").wait_for()

    missing = page.goto(server.url + "/s/zzzzz-zzzzz")
    assert missing.status == 404
    assert page.get_by_role("heading", name="This short link does not exist").is_visible()


def test_the_points_codec_is_lossless_and_a_drawn_point_takes_four_characters(page):
    """state-points.js: drawn points (0.01, ±1), a CSV's 7 significant digits, classes, regression values and
    any double (1e-12, 1e300, full precision) all come back exactly; 50/200/500 drawn points fit in 4 characters
    a point and a short header; damaged text throws an error that says what is wrong."""
    result = page.evaluate("""async () => {
        const m = await import('/js/state-points.js');
        let seed = 7;
        const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
        const spread = (digits) => +((random() * 12 - 6).toFixed(digits));
        const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
        const trip = (points, binary) => {
            const back = m.decodePoints(m.encodePoints(points, binary));
            return same(back.points, points) && back.binary === binary;
        };
        const drawn = (n) => Array.from({length: n}, () => [spread(2), spread(2), random() < 0.5 ? 1 : -1]);
        const lengths = Object.fromEntries([50, 200, 500].map((n) => {
            const points = drawn(n);
            return [n, trip(points, true) ? m.encodePoints(points, true).length : -1];
        }));
        const csv = Array.from({length: 300}, () => [+(random() * 12 - 6).toPrecision(7),
            +(random() * 0.02 - 0.01).toPrecision(7), +(random() * 100 - 50).toPrecision(7)]);
        const odd = [[1.234567e-12, Math.random() * 12 - 6, 1e300], [-0.5, 5.9999999, -3.25e-7], [6, -6, 0]];
        const classes = Array.from({length: 40}, (_, i) => [spread(2), spread(1), i % 5]);
        let damaged = '';
        try { m.decodePoints(m.encodePoints(drawn(10), true).slice(0, 12)); } catch (e) { damaged = e.message; }
        let unknown = '';
        try { m.decodePoints('2AAAA'); } catch (e) { unknown = e.message; }
        const trips = {csv: trip(csv, false), classes: trip(classes, false), empty: trip([], true),
                       odd: trip(odd, false)};
        return {lengths, ...trips, damaged, unknown};
    }""")
    for n, length in result["lengths"].items():
        assert 0 < length <= 4 * int(n) + 20, (n, length)
    assert result["csv"] and result["classes"] and result["empty"] and result["odd"]
    assert result["damaged"] == "the points end early (the link was cut short?)"
    assert result["unknown"] == 'unknown points format "2"'


def test_a_csv_too_long_for_a_link_is_shared_as_a_short_link_that_opens_it(make_page, server):
    """500 points loaded from a CSV (7 significant digits) make a link over 2,000 characters: "Copy link" gives
    the short link instead, and it opens the same points and readouts in a fresh browser."""
    rows = [(round(5.9 * np.sin(k * 0.7), 6), round(5.9 * np.cos(k * 1.3), 5), 1 if k % 3 else -1) for k in range(500)]
    csv = "x1,x2,label\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows)
    loader = make_page(server.url + "/#seed=77")
    loader.get_by_role("button", name="Dataset: Custom").click()
    upload = {"name": "big.csv", "mimeType": "text/csv", "buffer": csv.encode()}
    loader.get_by_label("Upload CSV").set_input_files(upload)
    wait_points(loader, 500)
    loaded = what_it_shows(loader)
    assert loaded["points"] == [list(row) for row in rows]
    assert len(loader.url) > 2000
    loader.get_by_role("button", name="Copy link").click()
    field = loader.get_by_label("Link to share")
    field.wait_for()
    assert field.input_value().startswith(server.url + "/s/")
    opened = make_page(field.input_value())
    assert what_it_shows(opened) == loaded
