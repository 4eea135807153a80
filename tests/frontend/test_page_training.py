"""Play, Step, live learning-rate changes, divergence: the page drives the live session."""

from __future__ import annotations

import pytest
from page_helpers import canvas_colours, epoch, screenshot

pytestmark = pytest.mark.browser


def loss(page, name="Training loss") -> float:
    return float(page.get_by_label(name, exact=True).inner_text())


def test_play_advances_the_epoch_and_the_loss_falls(page):
    first = loss(page)
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("window.nnplay.session.epoch >= 60", timeout=20_000)
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Play").wait_for()
    assert epoch(page) >= 60
    assert loss(page) < first
    assert page.evaluate("window.nnplay.render && document.querySelector('.loss-chart').width") > 0
    assert page.errors == []


def test_step_advances_exactly_one_epoch_while_paused(page):
    start = epoch(page)
    for n in (1, 2, 3):
        page.get_by_role("button", name="Step").click()
        page.wait_for_function("(e) => window.nnplay.session.epoch === e", arg=start + n)
    page.wait_for_timeout(300)
    assert epoch(page) == start + 3
    assert page.get_by_role("button", name="Play").is_visible()


def test_learning_rate_changes_live_without_a_reset(page):
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("window.nnplay.session.epoch >= 20", timeout=20_000)
    page.get_by_label("Learning rate", exact=True).select_option("0.1")
    page.wait_for_function("window.nnplay.states.some((s) => s.config.learning_rate === 0.1)")
    reached = page.evaluate("window.nnplay.session.epoch")
    page.wait_for_function("(e) => window.nnplay.session.epoch > e + 10", arg=reached, timeout=20_000)
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Play").wait_for()
    epochs = page.evaluate("window.nnplay.states.map((s) => s.epoch)")
    assert min(epochs[epochs.index(next(e for e in epochs if e >= 20)):]) >= 20, "the epoch went back: a reset"
    assert "learningRate=0.1&" in page.evaluate("location.hash")
    assert page.evaluate("window.nnplay.session.serverState.playing") is False


def test_trained_spiral(make_page, server):
    setup = ("#dataset=spiral&networkShape=8,8,5&x=true&y=true&xSquared=true&ySquared=true&sinX=true&sinY=true"
             "&learningRate=0.03&activation=tanh&seed=7&showTestData=true&batchSize=10")
    page = make_page(server.url + "/" + setup)
    page.get_by_label("Speed", exact=True).select_option("max")
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("window.nnplay.session.epoch >= 400", timeout=60_000)
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Play").wait_for()
    page.wait_for_timeout(300)
    assert loss(page) < 0.2
    assert canvas_colours(page) > 10
    screenshot(page, "page_spiral_trained.png")
    assert page.errors == []


def test_diverging_setup_shows_the_message_and_recovers(make_page, server):
    page = make_page(server.url + "/#problem=regression&regDataset=reg-plane&learningRate=3&activation=relu"
                                  "&networkShape=8,8&seed=1")
    page.get_by_role("button", name="Play").click()
    alert = page.get_by_role("alert").filter(has_text="Training diverged")
    alert.wait_for(timeout=15_000)
    assert alert.inner_text().lower().count("smaller learning rate") == 1  # said once
    page.get_by_label("Learning rate", exact=True).select_option("0.01")
    page.get_by_role("button", name="Step").click()
    alert.wait_for(state="hidden", timeout=10_000)
    page.wait_for_function("window.nnplay.session.epoch === 1 && window.nnplay.session.status === 'ok'")
    assert page.errors == []


def test_a_schedule_shows_the_rate_training_uses(make_page, server):
    """Step decay halves 0.03 every 2 epochs: after 9 epochs the menu still says 0.03, and beside it the page
    shows the rate the last epoch used (0.03 · 0.5⁴), as the engine reports it."""
    page = make_page(server.url + "/#lrSchedule=step&lrStepSize=2&lrGamma=0.5&seed=1")
    current = page.get_by_label("Current learning rate", exact=True)
    page.evaluate("window.nnplay.hub.emit('command', {type: 'step', n: 9})")
    page.wait_for_function("window.nnplay.session.lastFrame.header.epoch === 9")
    used = page.evaluate("window.nnplay.session.lastFrame.header.learning_rate")
    assert used == pytest.approx(0.03 * 0.5**4)
    page.wait_for_function("(t) => document.querySelector('.lr-now').textContent === t", arg="now 0.0019")
    assert current.is_visible() and page.get_by_label("Learning rate", exact=True).input_value() == "0.03"


def test_a_dead_network_says_no_gradient_flows(make_page, server):
    page = make_page(server.url + "/#activation=relu&learningRate=1000&seed=1")
    page.get_by_role("button", name="Step").click()
    alert = page.get_by_role("alert").filter(has_text="No gradient flows")
    alert.wait_for(timeout=15_000)
    assert "dead ReLU" in alert.inner_text()
    page.get_by_role("button", name="Reset").click()
    alert.wait_for(state="hidden", timeout=10_000)
