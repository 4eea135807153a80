"""Lessons do what their notes say, chosen from the menu after another lesson, as a lecturer would: each
is a fresh start (epoch 0, new weights) and the effect the note names is visible on the page."""

from __future__ import annotations

import re

import pytest
from page_helpers import server_state, settle

pytestmark = pytest.mark.browser


def choose(page, name: str) -> None:
    """Pick a lesson from the menu and wait until the server runs it."""
    page.get_by_label("Lessons", exact=True).select_option(name)
    page.wait_for_function("(n) => window.nnplay.state.values.preset === n && window.nnplay.session.synced", arg=name)
    settle(page)


def train(page, epochs: int) -> None:
    page.evaluate("(n) => window.nnplay.hub.emit('command', {type: 'step', n})", epochs)
    page.wait_for_function("(n) => window.nnplay.session.epoch >= n || window.nnplay.session.status !== 'ok'", arg=epochs,
                           timeout=30_000)


def play_until(page, condition: str, timeout: float = 40_000) -> None:
    page.evaluate("window.nnplay.state.set({speed: 'max'})")
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(condition, timeout=timeout)


def test_the_fixes_for_overfitting_start_afresh_and_early_stopping_stops_early(page):
    """After "Over-fitting" has trained, "…fixed by L2" starts again at epoch 0 (not on the over-fitted
    weights); "…fixed by early stopping" stops well before the suggested 600 epochs and restores an earlier
    epoch, as its note says."""
    choose(page, "overfit")
    train(page, 150)
    choose(page, "overfit_l2")
    assert page.evaluate("window.nnplay.session.epoch") == 0
    state = server_state(page)
    assert state["epoch"] == 0 and state["config"]["regularization"] == "l2" and state["config"]["reg_rate"] == 0.1

    choose(page, "overfit_early_stopping")
    assert page.evaluate("window.nnplay.session.epoch") == 0
    play_until(page, "window.nnplay.session.status === 'early_stopped'")
    message = page.get_by_role("alert").filter(has_text="early stopping").inner_text()
    best = int(re.search(r"from epoch (\d+)", message).group(1))
    stopped = page.evaluate("window.nnplay.session.epoch")
    assert best + 50 <= stopped < 600, (best, stopped)
