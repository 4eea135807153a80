"""The page loads cleanly, draws, names every control, and works at 1280×800 and in a 480×360 frame."""

from __future__ import annotations

import pytest
from page_helpers import canvas_colours, screenshot, server_state

pytestmark = pytest.mark.browser

NAMED = ["Play", "Step", "Reset", "Epoch", "Learning rate", "Activation", "Regularization", "Regularization rate",
         "Problem type", "Optimizer", "Speed", "Batch size", "Noise", "Ratio of training to test data",
         "Regenerate", "Add layer", "Remove layer", "Training loss", "Test loss", "Show test data",
         "Discretize output"]


def test_loads_without_console_errors_and_draws(page):
    assert page.errors == []
    assert page.get_by_role("status", name="Connection").inner_text().strip() == "connected"
    assert canvas_colours(page) > 1, "the output heatmap is a single colour"
    assert page.get_by_label("Training loss", exact=True).inner_text() != "–"
    assert server_state(page)["config"]["hidden"] == [4, 2]
    screenshot(page, "page_default.png")
    assert page.errors == []


def test_every_control_has_its_accessible_name(page):
    for name in NAMED:
        found = page.get_by_label(name, exact=True)
        assert found.count() == 1, f"{name!r}: {found.count()} elements"
        assert found.is_visible(), name
    assert page.get_by_role("button", name="Play").count() == 1
    page.get_by_role("button", name="Play").click()
    page.get_by_role("button", name="Pause").wait_for()
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Play").wait_for()


def test_choices_come_from_the_server(page):
    options = page.evaluate("window.nnplay.options")
    activations = page.get_by_label("Activation", exact=True).locator("option").evaluate_all("o => o.map(x => x.value)")
    assert activations == [a["name"] for a in options["activations"]]
    optimizers = page.get_by_label("Optimizer", exact=True).locator("option").evaluate_all("o => o.map(x => x.value)")
    assert optimizers == [o["name"] for o in options["optimizers"]]
    shown = page.locator(".dataset").evaluate_all("b => b.map(x => x.dataset.dataset)")
    assert shown == [d["name"] for d in options["datasets"] if d["task"] != "regression"]


def test_a_fresh_page_trains_at_the_servers_default_pace(page):
    defaults = page.evaluate("window.nnplay.options.view")
    speed = page.get_by_label("Speed", exact=True)
    assert speed.input_value() == str(defaults["speed"])
    assert speed.locator("option:checked").inner_text() == f"{defaults['speed']} epochs/s"
    assert server_state(page)["speed"] == defaults["speed"]
    assert server_state(page)["view"]["density"] == defaults["density"]
    assert "speed=" not in page.evaluate("location.hash"), "the default pace is not written into links"


def test_keyboard_reaches_the_controls(page):
    reached = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.getAttribute('aria-label')"))
    for name in ["Reset", "Play", "Step", "Learning rate", "Activation", "Add layer", "Show test data"]:
        assert name in reached, f"Tab never reached {name!r}"
    page.get_by_label("Step", exact=True).focus()
    before = page.evaluate("window.nnplay.session.epoch")
    page.keyboard.press("Enter")
    page.wait_for_function("(e) => window.nnplay.session.epoch === e + 1", arg=before)


@pytest.mark.parametrize("size", [(1280, 800), (480, 360)])
def test_layout_fits_without_horizontal_scrolling(make_page, server, size):
    width, height = size
    page = make_page(server.url + "/", width=width, height=height)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    play = page.get_by_role("button", name="Play")
    assert play.is_visible()
    box = play.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    plot = page.locator(".plot").bounding_box()
    assert plot["width"] >= (250 if width > 1000 else 200)
    if width < 600:
        screenshot(page, "page_480x360.png")
    assert page.errors == []
