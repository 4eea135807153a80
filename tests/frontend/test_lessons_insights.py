"""Insight views: the backprop walk-through against the engine's trace, the gradient check, the per-layer
gradient norms, the confusion matrix and R²/RMSE."""

from __future__ import annotations

import re

import pytest
from lesson_helpers import wait_epoch
from page_helpers import screenshot, server_state

pytestmark = pytest.mark.browser

KNOWN = "#dataset=xor&networkShape=3,2&x=true&y=true&activation=tanh&seed=5&insights=walkthrough"


def click_data_point(page, row) -> None:
    plot = page.locator(".output-column .plot")
    box = plot.bounding_box()
    plot.click(position={"x": (row[0] + 6) / 12 * box["width"], "y": (6 - row[1]) / 12 * box["height"]})


def test_walkthrough_shows_the_engines_trace(make_page, server):
    engine = pytest.importorskip("nnplay.engine")
    page = make_page(server.url + "/" + KNOWN)
    config = server_state(page)["config"]
    row = page.evaluate("Array.from(window.nnplay.output.data.arrays.train.slice(0, 3))")
    click_data_point(page, row)
    page.wait_for_function("window.nnplay.walkthrough.trace !== null")
    status = page.get_by_role("status", name="Walk-through step")
    assert "input" in status.inner_text()
    page.get_by_role("button", name="Next step").click()
    page.locator('.wt-value[data-column="1"]').first.wait_for()
    while page.get_by_role("button", name="Next step").is_enabled():
        page.get_by_role("button", name="Next step").click()
    assert "backward, hidden layer 1" in status.inner_text()

    expected = engine.Trainer(config).trace(row[:2], row[2])
    labels = page.locator('.wt-link[data-layer="0"]')
    assert labels.count() >= 3, "most of the first layer's links carry their ∂L/∂w"
    for k in range(labels.count()):
        label = labels.nth(k)
        to, source = int(label.get_attribute("data-to")), int(label.get_attribute("data-from"))
        value = float(label.get_attribute("data-value"))
        assert value == pytest.approx(expected["layers"][0]["grad_W"][to][source], rel=1e-6, abs=1e-12)
        shown = page.evaluate("(v) => import('/js/walkthrough.js').then((m) => m.fmtValue(v))", value)
        assert label.inner_text() == shown
    values = page.locator('.wt-value[data-column="1"]')
    first = values.first.locator(".wt-act").inner_text()
    assert float(first) == pytest.approx(expected["layers"][0]["post"][0], abs=6e-3)

    # the chain rule of a hovered link, with its numbers: dL/dw = dL/dz_to · a_from
    page.locator(".link-hit").nth(1).focus()  # keyboard focus shows it as hovering does
    chain = page.get_by_label("Chain rule").inner_text()
    numbers = re.search(r"= (\S+) × (\S+) = (\S+)$", chain)
    assert numbers, chain
    dz, a, product = (float(x) for x in numbers.groups())
    assert dz * a == pytest.approx(product, rel=2e-2, abs=1e-4)
    assert product == pytest.approx(expected["layers"][0]["grad_W"][0][1], rel=5e-3, abs=1e-4)
    screenshot(page, "walkthrough.png")
    assert page.errors == []


def test_walkthrough_animates_and_picks_points_by_keyboard(make_page, server):
    page = make_page(server.url + "/" + KNOWN)
    page.get_by_role("button", name="Pick the next training point").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("window.nnplay.walkthrough.trace !== null")
    page.get_by_role("button", name="Animate the steps").click()
    page.wait_for_function("window.nnplay.walkthrough.step === 2", timeout=5_000)
    page.get_by_role("button", name="Stop the animation").click()
    page.wait_for_timeout(1300)
    assert page.evaluate("window.nnplay.walkthrough.step") == 2, "Stop stops the animation"
    page.get_by_role("button", name="Next step").click()
    assert page.evaluate("window.nnplay.walkthrough.step") == 3
    page.get_by_role("button", name="Backprop walk-through").click()
    assert page.locator(".wt-value").count() == 0 and "walkthrough" not in page.evaluate("location.hash")


def test_gradient_check_reports_a_tiny_error(page):
    page.get_by_role("button", name="Gradient check", exact=True).click()
    page.get_by_role("button", name="Run the gradient check").click()
    result = page.get_by_label("Gradient check result")
    page.wait_for_function("document.querySelector('.gradcheck-result').dataset.verdict !== ''", timeout=20_000)
    text = result.inner_text()
    assert "worst relative error" in text and "agrees" in text, text
    assert result.get_attribute("data-verdict") == "good"


def test_gradient_norms_show_vanishing_gradients(make_page, server):
    page = make_page(server.url + "/#dataset=circle&networkShape=8,8,8,8,8,8&activation=sigmoid&seed=10")
    page.get_by_role("button", name="Gradient norms").click()
    assert "insights=gradients" in page.evaluate("location.hash")
    page.evaluate("window.nnplay.hub.emit('command', {type: 'step', n: 5})")
    wait_epoch(page, 5)
    page.wait_for_function("window.nnplay.gradients.store().length >= 2")
    last = page.evaluate("(() => { const s = window.nnplay.gradients.store(); return s.rows().at(-1); })()")
    norms = last[1:]
    assert len(norms) == 7
    assert norms[0] < norms[-1] / 10, f"sigmoid's gradients vanish towards the first layer: {norms}"
    assert page.locator(".grad-norms .chart-legend .swatch").count() == 7
    assert page.errors == []


def test_confusion_matrix_and_regression_metrics(make_page, server):
    page = make_page(server.url + "/#dataset=blobs&nClasses=3&networkShape=4&seed=2&insights=metrics")
    page.evaluate("window.nnplay.hub.emit('command', {type: 'step', n: 20})")
    wait_epoch(page, 20)
    table = page.get_by_role("table", name="Training confusion matrix")
    table.wait_for(timeout=10_000)
    counts = [int(x) for x in table.locator("td").all_inner_texts()]
    assert len(counts) == 9 and sum(counts) == server_state(page)["n_train"]
    assert page.get_by_role("table", name="Test confusion matrix").is_visible()
    page.get_by_label("Problem type", exact=True).select_option("regression")
    page.get_by_role("table", name="R² and RMSE").wait_for(timeout=10_000)
    assert page.get_by_role("button", name="R² / RMSE").is_visible()
    assert page.errors == []


def test_lesson_controls_are_named_and_reachable_by_keyboard(page):
    reached = set()
    for _ in range(80):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("(() => { const a = document.activeElement;"
                                  " return a.getAttribute('aria-label') || a.textContent.trim(); })()"))
    for name in ["Lessons", "Compare", "Embed", "Export", "Gradient norms", "Confusion matrix", "Backprop walk-through",
                 "Gradient check"]:
        assert name in reached, f"Tab never reached {name!r}"
    page.get_by_role("button", name="Gradient norms").focus()
    page.keyboard.press("Enter")
    assert page.get_by_role("button", name="Gradient norms").get_attribute("aria-pressed") == "true"
    page.get_by_text("Export", exact=True).focus()
    page.keyboard.press("Enter")
    for name in ["Export a PNG of the view", "Export an animated GIF", "Export the network as JSON",
                 "Import network (JSON)", "Export the loss history as CSV", "Export the data as CSV", "GIF epochs",
                 "Frame every (epochs)"]:
        assert page.get_by_label(name, exact=True).count() == 1, name


def test_walkthrough_of_standardized_inputs_shows_what_the_network_receives(make_page, server):
    engine = pytest.importorskip("nnplay.engine")
    page = make_page(server.url + "/" + KNOWN + "&xSquared=true&standardize=true")
    config = server_state(page)["config"]
    assert config["standardize"] is True and config["features"] == ["x1", "x2", "x1_sq"]
    row = page.evaluate("Array.from(window.nnplay.output.data.arrays.train.slice(0, 3))")
    click_data_point(page, row)
    page.wait_for_function("window.nnplay.walkthrough.trace !== null")
    status = page.get_by_role("status", name="Walk-through step").inner_text()
    assert "standardized" in status, status
    expected = engine.Trainer(config).trace(row[:2], row[2])["features"]
    raw = {"x1": row[0], "x2": row[1], "x1_sq": row[0] ** 2}
    shown = page.locator('.wt-value[data-column="0"] .wt-act').all_inner_texts()
    for text, (name, value) in zip(shown, expected.items(), strict=True):
        assert float(text) == pytest.approx(value, rel=5e-3, abs=5e-3), name
        assert abs(value - raw[name]) > 0.05, f"{name} is standardized, not raw"
    assert page.errors == []
