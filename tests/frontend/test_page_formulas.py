"""The "add a feature" box: a formula becomes an input node with the engine's thumbnail, a bad one shows the
server's message with the column, a formula node is removed like the others, and formulas travel in links
(TensorFlow Playground links are unchanged: tests/frontend/test_page_url.py)."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from page_helpers import ARTIFACTS, screenshot, server_state, settle

pytestmark = pytest.mark.browser

RADIUS = "sqrt(x1^2 + x2^2)"


def screenshot_path(name: str):
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


def add_feature(page, text: str) -> None:
    box = page.get_by_label("Add a feature", exact=True)
    box.fill(text)
    box.press("Enter")


def formula_node(page, text: str):
    return page.get_by_role("button", name=f"Feature {text}", exact=True)


def thumbnail_colours(locator) -> int:
    return locator.locator("canvas").evaluate("""(c) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const seen = new Set();
        for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
        return seen.size;
    }""")


def test_a_formula_is_added_as_an_input_with_its_thumbnail_and_removed_by_a_click(page):
    add_feature(page, f"  {RADIUS} ")
    node = formula_node(page, RADIUS)
    node.wait_for()
    settle(page)
    assert server_state(page)["config"]["features"] == ["x1", "x2", RADIUS]
    assert thumbnail_colours(node) > 3, "the thumbnail shows the radius, painted from the server's values"
    assert page.get_by_label("Add a feature", exact=True).input_value() == ""
    screenshot(page, "formula-added.png")
    node.click()
    settle(page)
    assert server_state(page)["config"]["features"] == ["x1", "x2"] and formula_node(page, RADIUS).count() == 0
    assert page.errors == []


def test_a_bad_formula_shows_the_servers_message_with_the_column(page):
    add_feature(page, "sin(x1 * )")
    message = page.locator(".add-feature-error")
    message.wait_for()
    assert "column 10" in message.inner_text() and "sin(x1 * )" in message.inner_text()
    assert page.get_by_label("Add a feature", exact=True).get_attribute("aria-invalid") == "true"
    screenshot(page, "formula-error.png")
    add_feature(page, "log(x1)")
    page.wait_for_function("document.querySelector('.add-feature-error').textContent.includes('is nan')")
    assert server_state(page)["config"]["features"] == ["x1", "x2"]


def test_formulas_travel_in_links(make_page, server, page):
    add_feature(page, "x1*x2")
    add_feature(page, "atan2(x2, x1)")  # a comma inside a formula
    page.wait_for_function("window.nnplay.state.values.features.length === 4")
    settle(page)
    hash_ = page.evaluate("location.hash")
    assert "formulas=" in hash_ and "x=true" in hash_
    again = make_page(server.url + "/" + hash_)
    formula_node(again, "atan2(x2, x1)").wait_for()
    assert server_state(again)["config"]["features"] == ["x1", "x2", "x1*x2", "atan2(x2, x1)"]
    # a written link: TensorFlow Playground's feature keys, then the formulas after them
    link = "#dataset=spiral&x=true&y=false&formulas=" + quote(json.dumps([RADIUS]))
    written = make_page(server.url + "/" + link)
    formula_node(written, RADIUS).wait_for()
    assert server_state(written)["config"]["features"] == ["x1", RADIUS]
    assert again.errors == [] and written.errors == []


def test_the_walkthrough_names_a_formula_input_with_its_value(make_page, server):
    link = ("#dataset=xor&networkShape=2&x=true&y=false&seed=5&insights=walkthrough&formulas="
            + quote(json.dumps(["x1*x2"])))
    page = make_page(server.url + "/" + link)
    formula_node(page, "x1*x2").wait_for()
    settle(page)
    row = page.evaluate("Array.from(window.nnplay.output.data.arrays.train.slice(0, 3))")
    plot = page.locator(".output-column .plot")
    box = plot.bounding_box()
    plot.click(position={"x": (row[0] + 6) / 12 * box["width"], "y": (6 - row[1]) / 12 * box["height"]})
    page.wait_for_function("window.nnplay.walkthrough.trace !== null")
    trace = page.evaluate("window.nnplay.walkthrough.trace")
    assert list(trace["features"]) == ["x1", "x1*x2"]
    assert trace["features"]["x1*x2"] == pytest.approx(trace["point"][0] * trace["point"][1], rel=1e-6)
    status = page.get_by_role("status", name="Walk-through step").inner_text()
    assert "x1*x2 = " in status, status
    screenshot(page, "formula-walkthrough.png")
    assert page.errors == []


def test_a_compare_variants_feature_list_keeps_the_commas_inside_a_formula(page):
    items = page.evaluate("""() => import('/js/compare-variant-editor.js')
        .then((m) => m.splitList('x1, atan2(x2, x1),max(x1, min(x2, 1)) , 4'))""")
    assert items == ["x1", "atan2(x2, x1)", "max(x1, min(x2, 1))", "4"]


def test_a_network_with_a_formula_exports_and_reimports_and_its_view_png_draws(make_page, server):
    from lesson_helpers import download
    image = pytest.importorskip("PIL.Image")
    link = "#dataset=xor&networkShape=3&seed=21&formulas=" + quote(json.dumps(["exp(-(x1^2+x2^2)/4)"]))
    first = make_page(server.url + "/" + link)
    formula_node(first, "exp(-(x1^2+x2^2)/4)").wait_for()
    settle(first)
    first.evaluate("window.nnplay.hub.emit('command', {type: 'step', n: 5})")
    first.wait_for_function("window.nnplay.session.lastFrame.header.epoch === 5 && !window.nnplay.session.playing")
    first.get_by_text("Export", exact=True).click()
    path = download(first, lambda: first.get_by_role("button", name="Export the network as JSON").click())
    assert json.loads(path.read_text())["config"]["features"] == ["x1", "x2", "exp(-(x1^2+x2^2)/4)"]
    view = download(first, lambda: first.get_by_role("button", name="Export a PNG of the view").click())
    with image.open(view) as png:
        assert png.format == "PNG" and png.width > 800
        png.save(screenshot_path("formula-view-export.png"))
    second = make_page(server.url + "/")
    second.get_by_text("Export", exact=True).click()
    second.get_by_label("Import network (JSON)").set_input_files(str(path))
    formula_node(second, "exp(-(x1^2+x2^2)/4)").wait_for()
    second.wait_for_function("window.nnplay.session.epoch === 5")
    read = "Array.from(window.nnplay.session.lastFrame.arrays.weights)"
    assert second.evaluate(read) == first.evaluate(read)
    assert first.errors == [] and second.errors == []


def test_a_linked_formula_that_reads_x2_is_dropped_on_1d_data(make_page, server):
    link = "#problem=regression&regDataset=poly_demo&formulas=" + quote(json.dumps(["sin(3*x1)", "x1*x2"]))
    page = make_page(server.url + "/" + link)
    formula_node(page, "sin(3*x1)").wait_for()
    page.wait_for_function("window.nnplay.state.values.features.join() === 'x1,sin(3*x1)'")
    settle(page)
    assert server_state(page)["config"]["features"] == ["x1", "sin(3*x1)"] and formula_node(page, "x1*x2").count() == 0
