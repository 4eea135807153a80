"""The network drawing: rebuilt on dataset, layer, neuron and activation changes; weights edited by click."""

from __future__ import annotations

import json
import urllib.request

import pytest
from page_helpers import server_state, settle

pytestmark = pytest.mark.browser


def neurons(page) -> int:
    return page.locator(".node.neuron").count()


def palette(server) -> dict:
    """The palette the server sends the page (GET /api/options)."""
    with urllib.request.urlopen(server.url + "/api/options", timeout=10) as response:
        return json.load(response)["palette"]


def css_rgb(hex_colour: str) -> str:
    """'#f59322' as the browser writes it back: 'rgb(245, 147, 34)'."""
    return "rgb({}, {}, {})".format(*bytes.fromhex(hex_colour[1:]))


def test_dataset_layers_neurons_and_activation_rebuild_the_network(page):
    page.get_by_role("button", name="Dataset: Spiral", exact=True).click()
    page.wait_for_function("window.nnplay.session.serverState?.config.dataset === 'spiral'")
    assert page.get_by_role("button", name="Dataset: Spiral", exact=True).get_attribute("aria-pressed") == "true"
    assert neurons(page) == 6
    page.get_by_role("button", name="Add layer").click()
    settle(page)
    assert neurons(page) == 8, "+layer adds a layer of 2 neurons, as the playground"
    assert server_state(page)["sizes"] == [2, 4, 2, 2, 1]
    page.get_by_role("button", name="Add neuron to layer 3").click()
    settle(page)
    assert neurons(page) == 9
    assert server_state(page)["sizes"] == [2, 4, 2, 3, 1]
    page.get_by_label("Activation", exact=True).select_option("relu")
    page.wait_for_function("window.nnplay.session.serverState?.config.activation === 'relu'")
    page.get_by_role("button", name="Remove layer").click()
    settle(page)
    assert server_state(page)["sizes"] == [2, 4, 2, 1]
    assert page.locator("path.link").count() == 2 * 4 + 4 * 2 + 2 * 1
    assert "networkShape=4,2&" in page.evaluate("location.hash")
    assert page.errors == []


def test_feature_thumbnail_toggles_a_feature(page):
    page.get_by_role("button", name="Feature X₁²").click()
    settle(page)
    assert server_state(page)["config"]["features"] == ["x1", "x2", "x1_sq"]
    assert page.get_by_role("button", name="Feature X₁²").get_attribute("aria-pressed") == "true"


def test_edit_a_weight_by_clicking_its_link(make_page, server):
    page = make_page(server.url + "/#networkShape=1&seed=3")
    link = page.get_by_role("button", name="Weight from X₂ to neuron 1 of layer 1")
    link.hover()
    card = page.locator(".hovercard")
    card.wait_for()
    assert card.inner_text().startswith("Weight is ")
    link.click()
    box = page.get_by_label("New value of weight from X₂ to neuron 1 of layer 1")
    box.fill("-1.5")
    box.press("Enter")
    page.wait_for_function("window.nnplay.session.lastFrame.arrays.weights[1] === -1.5")
    # the link is redrawn 1 + 9·|w|/5 px wide (1–10 px for |w| 0–5) in the colour of −1 and below: the
    # negative end of the server's diverging scale
    page.wait_for_function("Math.abs(parseFloat(document.querySelectorAll('path.link')[1].style.strokeWidth) - 3.7)"
                           " < 0.3")
    colour = page.locator("path.link").nth(1).evaluate("p => p.style.stroke")
    assert colour == css_rgb(palette(server)["diverging"][0])
    # the bias too, from the keyboard
    bias = page.get_by_role("button", name="Bias of neuron 1 of layer 1")
    bias.focus()
    page.keyboard.press("Enter")
    box = page.get_by_label("New value of bias of neuron 1 of layer 1")
    box.fill("0.25")
    box.press("Enter")
    page.wait_for_function("window.nnplay.session.lastFrame.arrays.weights[2] === 0.25")
    assert page.errors == []


def test_hovering_a_neuron_shows_its_map(page):
    page.get_by_role("img", name="Neuron 2 of layer 1").hover()
    label = page.locator(".plot-label")
    label.wait_for()
    assert label.inner_text() == "Neuron 2 of layer 1"
    page.mouse.move(5, 5)
    label.wait_for(state="hidden")
