"""The page's Normalization control (Advanced → Network): it reaches the server's config, travels in links
(one name, or one per layer), and a restored run keeps its γ, β and running estimates."""

import pytest
from page_helpers import screenshot, server_state, settle, wait_ready

pytestmark = pytest.mark.browser


def test_the_normalization_control_configures_the_run_and_travels_in_the_link(page, make_page, server):
    page.get_by_text("Advanced", exact=True).click()
    control = page.get_by_label("Normalization", exact=True)
    labels = control.locator("option").all_inner_texts()
    assert labels == ["None", "Batch norm", "Layer norm"]  # from /api/options
    control.select_option("batch")
    page.wait_for_function("window.nnplay.session.serverState?.config.normalization === 'batch'")
    settle(page)
    assert "normalization=batch" in page.evaluate("location.hash")
    assert page.get_by_label("Normalization of layer 2", exact=True).input_value() == "batch"
    screenshot(page, "normalization-control.png")
    again = make_page(server.url + "/" + page.evaluate("location.hash"))
    assert server_state(again)["config"]["normalization"] == "batch"
    again.get_by_text("Advanced", exact=True).click()
    assert again.get_by_label("Normalization", exact=True).input_value() == "batch"
    assert page.errors == [] and again.errors == []


def test_a_per_layer_link_sets_one_normalization_per_layer(make_page, server):
    page = make_page(server.url + "/#networkShape=4,2&normalizations=batch,layer&seed=3")
    assert server_state(page)["config"]["normalization"] == ["batch", "layer"]
    page.get_by_text("Advanced", exact=True).click()
    assert page.get_by_label("Normalization", exact=True).input_value() == ""  # "per layer"
    assert page.get_by_label("Normalization of layer 1", exact=True).input_value() == "batch"
    page.get_by_label("Normalization of layer 2", exact=True).select_option("none")
    page.wait_for_function("JSON.stringify(window.nnplay.session.serverState?.config.normalization)"
                           " === JSON.stringify(['batch', 'none'])")
    assert "normalizations=batch,none" in page.evaluate("location.hash")
    assert page.errors == []


def test_the_weights_a_page_keeps_carry_the_normalization_state(make_page, server):
    """What a reconnect or an export sends back: γ, β and the running estimates of the last frame."""
    page = make_page(server.url + "/#networkShape=4,2&normalizations=batch,layer&batchSize=10&seed=5")
    wait_ready(page)
    page.evaluate("window.nnplay.hub.emit('command', {type: 'step', n: 5})")
    page.wait_for_function("window.nnplay.session.epoch >= 5")
    settle(page)
    weights = page.evaluate("window.nnplay.session.currentWeights()")
    first, second = weights[0]["norm"], weights[1]["norm"]
    assert first["kind"] == "batch" and len(first["running_var"]) == 4
    assert any(abs(v - 1) > 1e-3 for v in first["running_var"])  # trained: no longer the fresh estimates
    assert set(second) == {"kind", "gamma", "beta"} and "norm" not in weights[2]
    # what a reconnect does: configure with those weights; the server's next frame carries the same state
    page.evaluate("(w) => window.nnplay.session.configure({weights: w, epoch: 5})", weights)
    page.wait_for_function("window.nnplay.session.synced")
    settle(page)
    assert page.evaluate("window.nnplay.session.currentWeights()") == weights
    assert page.errors == []
