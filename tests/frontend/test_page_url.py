"""Shareable state: the URL hash restores the setup after a reload, playground links work, `_hide` hides."""

from __future__ import annotations

import pytest
from page_helpers import server_state, settle, wait_ready

pytestmark = pytest.mark.browser

PLAYGROUND_LINK = ("#activation=relu&batchSize=10&dataset=spiral&regDataset=reg-plane&learningRate=0.03"
                   "&regularizationRate=0&noise=0&networkShape=4,2&seed=0.12345&showTestData=false&discretize=false"
                   "&percTrainData=50&x=true&y=true&xTimesY=false&xSquared=false&ySquared=false&cosX=false&sinX=false"
                   "&cosY=false&sinY=false&collectStats=false&problem=classification&initZero=false&hideText=false")


def fnv1a(text: str) -> int:
    h = 0x811C9DC5
    for ch in text.encode():
        h = ((h ^ ch) * 0x01000193) & 0xFFFFFFFF
    return h


def test_a_playground_link_reproduces_its_setup(make_page, server):
    page = make_page(server.url + "/" + PLAYGROUND_LINK)
    config = server_state(page)["config"]
    assert config["dataset"] == "spiral" and config["activation"] == "relu" and config["hidden"] == [4, 2]
    assert config["features"] == ["x1", "x2"] and config["batch_size"] == 10 and config["learning_rate"] == 0.03
    assert config["train_ratio"] == 0.5 and config["noise"] == 0 and config["regularization"] == "none"
    assert config["seed"] == fnv1a("0.12345"), "the playground's string seed maps to an integer deterministically"
    assert page.get_by_label("Activation", exact=True).input_value() == "relu"
    # the same link twice gives the same data
    first = page.evaluate("Array.from(window.nnplay.render && document.querySelectorAll('.node.neuron')).length")
    again = make_page(server.url + "/" + PLAYGROUND_LINK)
    assert server_state(again)["data_seed"] == server_state(page)["data_seed"]
    assert first == 6
    assert page.errors == [] and again.errors == []


def test_regression_playground_link(make_page, server):
    page = make_page(server.url + "/#problem=regression&regDataset=reg-gauss&networkShape=3&x=true&y=true"
                                  "&xSquared=true&regularization=L2&regularizationRate=0.01&initZero=true")
    config = server_state(page)["config"]
    assert config["dataset"] == "multi_gauss" and config["problem"] == "regression"
    assert config["regularization"] == "l2" and config["reg_rate"] == 0.01 and config["init"] == "zeros"
    assert config["features"] == ["x1", "x2", "x1_sq"]
    hash_ = page.evaluate("location.hash")
    assert "regDataset=reg-gauss" in hash_ and "regularization=L2" in hash_ and "initZero=true" in hash_


def test_the_hash_restores_the_setup_after_reload(page):
    page.get_by_role("button", name="Dataset: Exclusive or").click()
    page.get_by_role("button", name="Add layer").click()
    page.get_by_label("Optimizer", exact=True).select_option("adam")
    page.get_by_label("Regularization", exact=True).select_option("l1")
    page.get_by_label("Show test data", exact=True).check()
    settle(page)
    page.wait_for_function("window.nnplay.session.serverState?.config.optimizer === 'adam'")
    before = server_state(page)["config"]
    hash_ = page.evaluate("location.hash")
    assert "optimizer=adam" in hash_ and "dataset=xor" in hash_ and "showTestData=true" in hash_
    page.reload()
    wait_ready(page)
    after = server_state(page)["config"]
    for key in ("dataset", "hidden", "optimizer", "regularization", "seed", "features", "learning_rate"):
        assert after[key] == before[key], key
    assert page.get_by_label("Show test data", exact=True).is_checked()
    assert page.evaluate("location.hash") == hash_


def test_hide_keys_and_hide_text(make_page, server):
    page = make_page(server.url + "/#learningRate_hide=true&noise_hide=true&numHiddenLayers_hide=true"
                                  "&playButton_hide=false&hideText=true&dataset_hide=true")
    assert not page.get_by_text("Which dataset do you want to use?").is_visible()  # no orphan question
    assert not page.get_by_role("button", name="Dataset: Circle").is_visible()
    assert not page.get_by_label("Learning rate", exact=True).is_visible()
    assert not page.get_by_label("Noise", exact=True).is_visible()
    assert not page.get_by_label("Add layer", exact=True).is_visible()
    assert page.get_by_role("button", name="Play").is_visible()
    assert not page.locator(".site-header p.header-text").is_visible()
    hash_ = page.evaluate("location.hash")
    assert "learningRate_hide=true" in hash_ and "hideText=true" in hash_
    page.reload()
    wait_ready(page)
    assert not page.get_by_label("Learning rate", exact=True).is_visible()


def test_a_new_hash_applies_without_reload(page):
    page.evaluate("location.hash = '#dataset=gauss&networkShape=3&activation=sigmoid&seed=9'")
    page.wait_for_function("window.nnplay.session.serverState?.config.dataset === 'gauss'")
    settle(page)
    config = server_state(page)["config"]
    assert config["hidden"] == [3] and config["activation"] == "sigmoid" and config["seed"] == 9
    assert page.get_by_role("button", name="Dataset: Gaussian").get_attribute("aria-pressed") == "true"


def test_a_pasted_link_is_a_whole_setup(page):
    """A link pasted into an open tab means what it means in a fresh tab: what it does not name is the
    default (optimizer, dropout, samples), the previous lesson's note goes, and the run starts afresh."""
    page.get_by_label("Lessons", exact=True).select_option("overfit")
    page.wait_for_function("window.nnplay.session.serverState?.config.optimizer === 'adam'")
    page.get_by_text("Advanced", exact=True).click()
    page.get_by_label("Dropout", exact=True).fill("0.3")
    page.get_by_label("Dropout", exact=True).dispatch_event("change")
    page.evaluate("window.nnplay.hub.emit('command', {type: 'step', n: 20})")
    page.wait_for_function("window.nnplay.session.epoch >= 20")
    page.evaluate("location.hash = '#dataset=gauss&seed=9'")
    page.wait_for_function("window.nnplay.session.serverState?.config.dataset === 'gauss'")
    settle(page)
    config = server_state(page)["config"]
    defaults = page.evaluate("window.nnplay.options.defaults")
    for key in ("optimizer", "dropout", "n_samples", "learning_rate", "hidden", "features", "activation", "noise"):
        assert config[key] == defaults[key], key
    assert config["seed"] == 9 and page.evaluate("window.nnplay.session.epoch") == 0
    assert not page.get_by_role("complementary", name="Lesson note").is_visible()
    assert "preset=" not in page.evaluate("location.hash")


def test_feature_keys_switch_features_of_the_default_list(page):
    """`#sinX=true` adds sin(X₁) to the default X₁, X₂ (the playground's reading); `#x=false` leaves X₂."""
    page.evaluate("location.hash = '#sinX=true'")
    page.wait_for_function("window.nnplay.session.serverState?.config.features.includes('sin_x1')")
    assert server_state(page)["config"]["features"] == ["x1", "x2", "sin_x1"]
    page.evaluate("location.hash = '#x=false'")
    page.wait_for_function("window.nnplay.session.serverState?.config.features.join() === 'x2'")
    assert page.get_by_role("button", name="Feature X₁", exact=True).get_attribute("aria-pressed") == "false"


def test_back_from_one_dimensional_data_gives_back_both_inputs(page):
    """Regression → the 1-D polynomial demo (X₁ only) → Classification: X₁ and X₂ again, so the circle can
    be learned."""
    page.get_by_label("Problem type", exact=True).select_option("regression")
    page.get_by_role("button", name="Dataset: Polynomial demo").click()
    page.wait_for_function("window.nnplay.session.serverState?.config.dataset === 'poly_demo'")
    assert server_state(page)["config"]["features"] == ["x1"]
    page.get_by_label("Problem type", exact=True).select_option("classification")
    page.wait_for_function("window.nnplay.session.serverState?.config.problem === 'classification'")
    settle(page)
    assert server_state(page)["config"]["features"] == ["x1", "x2"]


def test_standardize_inputs_is_sent_travels_in_the_link_and_survives_a_reload(page):
    box = page.get_by_label("Standardize inputs", exact=True)
    assert not box.is_checked() and server_state(page)["config"]["standardize"] is False
    assert "standardize" not in page.evaluate("location.hash")  # the default is not written
    box.check()
    settle(page)
    page.wait_for_function("window.nnplay.session.serverState?.config.standardize === true")
    assert "standardize=true" in page.evaluate("location.hash")
    page.screenshot(path="/tmp/nnplay-standardize.png")
    page.reload()
    wait_ready(page)
    assert server_state(page)["config"]["standardize"] is True
    assert page.get_by_label("Standardize inputs", exact=True).is_checked()
    page.get_by_label("Standardize inputs", exact=True).uncheck()
    settle(page)
    page.wait_for_function("window.nnplay.session.serverState?.config.standardize === false")
    assert "standardize" not in page.evaluate("location.hash")
    assert page.errors == []


def test_gelu_and_mish_come_from_the_registry_and_travel_in_links(make_page, server):
    page = make_page(server.url + "/#activation=gelu")
    assert server_state(page)["config"]["activation"] == "gelu"
    menu = page.get_by_label("Activation", exact=True)
    labels = menu.locator("option").all_inner_texts()
    assert "GELU" in labels and "Mish" in labels
    menu.select_option("mish")
    settle(page)
    page.wait_for_function("window.nnplay.session.serverState?.config.activation === 'mish'")
    assert "activation=mish" in page.evaluate("location.hash")
    assert page.errors == []
