"""A trained network travels as a link: the Export menu's "Share network (link)" opens, in a fresh browser, the
same network at the same epoch, paused; a link to no network says so and shows none. The compare page's Short
link opens its variants again."""

from __future__ import annotations

import pytest
from page_helpers import settle

pytestmark = pytest.mark.browser

WEIGHTS = "window.nnplay.session.currentWeights()"


def test_a_shared_network_opens_in_a_fresh_browser_with_its_epoch_and_weights(make_page, server):
    page = make_page(server.url + "/#seed=11&networkShape=3,2&learningRate=0.1&activation=relu")
    page.evaluate("window.nnplay.hub.emit('command', { type: 'step', n: 25 })")
    page.wait_for_function("window.nnplay.session.epoch === 25 && window.nnplay.session.lastFrame.header.epoch === 25")
    trained = page.evaluate(WEIGHTS)
    page.get_by_text("Export", exact=True).click()
    page.get_by_role("button", name="Share the network as a link, kept by this server").click()
    field = page.get_by_label("Link to this network")
    page.wait_for_function("document.querySelector('.network-link').value.includes('/n/')")
    link = field.input_value()
    assert link.startswith(server.url + "/n/") and len(link) - len(server.url) == len("/n/xxxxx-xxxxx"), link
    assert "Link to this network (epoch 25)" in page.get_by_label("Notices").inner_text()

    opened = make_page(link)  # a fresh context: nothing in its localStorage
    assert opened.url.startswith(server.url + "/#") and "network=" not in opened.url, "the link is its setup's now"
    assert "networkShape=3,2" in opened.url
    opened.wait_for_function("window.nnplay.session.lastFrame.header.epoch === 25")
    config = opened.evaluate("window.nnplay.state.config()")
    setup = (config["hidden"], config["learning_rate"], config["activation"], config["seed"])
    assert setup == ([3, 2], 0.1, "relu", 11)
    assert opened.evaluate(WEIGHTS) == trained, "the very weights, not a retrained network"
    assert "network loaded (epoch 25)" in opened.get_by_label("Notices").inner_text()
    opened.wait_for_timeout(500)
    assert opened.evaluate("window.nnplay.session.epoch") == 25, "paused: it does not train on by itself"
    assert opened.errors == []


def test_a_link_to_no_network_says_so_and_shows_none(make_page, server):
    page = make_page(server.url + "/?network=zzzzz-zzzzz#networkShape=3,2")
    assert "No network loaded: no network is stored under 'zzzzz-zzzzz'" in page.get_by_label("Notices").inner_text()
    assert page.evaluate("window.nnplay.session.lastFrame.header.epoch") == 0, "the page's own setup, untrained"
    assert page.evaluate("window.nnplay.state.config().hidden") == [3, 2]
    missing = page.goto(server.url + "/n/zzzzz-zzzzz")
    assert missing.status == 404 and "This network link does not exist" in page.inner_text("h1")


def test_the_compare_pages_short_link_opens_its_variants_again(make_page, server):
    variants = '[{"learning_rate":0.3},{"learning_rate":0.01},{"activation":"relu"}]'
    page = make_page(server.url + f"/compare#seed=9&variants={variants}&labels=[\"fast\",\"slow\",\"relu\"]")
    shown = page.evaluate("[window.nnplay.state.values.variants, window.nnplay.state.values.labels]")
    assert shown[1] == ["fast", "slow", "relu"], shown
    page.get_by_role("button", name="Short link").click()
    page.wait_for_function("document.querySelector('.share-link').value.includes('/s/')")
    short = page.get_by_label("Link to share").input_value()
    assert "/embed" not in page.get_by_label("Notices").inner_text(), "its embed is the Embed dialog's, not /s/ID/embed"
    again = make_page(short)
    assert again.url.startswith(server.url + "/compare#"), again.url
    settle(again)
    assert again.evaluate("[window.nnplay.state.values.variants, window.nnplay.state.values.labels]") == shown
    assert again.evaluate("window.nnplay.state.config().seed") == 9
    assert again.errors == []
