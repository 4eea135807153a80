"""Lesson presets: every preset of GET /api/presets loads from the menu (single ones on the playground,
comparisons on the compare page), shows its note, and trains without an error."""

from __future__ import annotations

import pytest
from lesson_helpers import presets
from page_helpers import settle, wait_ready

pytestmark = pytest.mark.browser

STEP = 3  # epochs trained per preset: enough to see it run, quick even for the deep ones


def is_compare(preset) -> bool:
    return bool(preset.get("variants"))


def expect_config(page, preset) -> None:
    page.wait_for_function("(c) => { const s = window.nnplay.session.serverState?.config; return s"
                           " && Object.entries(c).every(([k, v]) => JSON.stringify(s[k]) === JSON.stringify(v)); }",
                           arg={k: v for k, v in preset["config"].items() if k in ("dataset", "hidden", "problem")},
                           timeout=15_000)


def train_a_little(page) -> None:
    """One Step click, then a few epochs more; a run that diverges (the lesson of a too-high learning rate)
    stops early and says so."""
    start = page.evaluate("window.nnplay.session.epoch")
    page.get_by_role("button", name="Step").click()
    advanced = "(n) => window.nnplay.session.epoch >= n || window.nnplay.session.status === 'diverged'"
    page.wait_for_function(advanced, arg=start + 1)
    page.evaluate("(n) => window.nnplay.hub.emit('command', {type: 'step', n})", STEP)
    page.wait_for_function(advanced, arg=start + 1 + STEP, timeout=30_000)
    if page.evaluate("window.nnplay.session.status") == "diverged":
        assert page.get_by_role("alert").filter(has_text="training diverged").is_visible()


def test_every_single_preset_loads_and_trains(make_page, server):
    single = [p for p in presets(server) if not is_compare(p)]
    assert len(single) >= 12
    page = make_page(server.url + "/")
    note = page.get_by_role("complementary", name="Lesson note")
    for preset in single:
        page.get_by_label("Lessons", exact=True).select_option(preset["name"])
        expect_config(page, preset)
        settle(page)
        assert note.is_visible() and preset["title"] in note.inner_text(), preset["name"]
        assert f"preset={preset['name']}" in page.evaluate("location.hash")
        train_a_little(page)
        assert page.evaluate("window.nnplay.errors") == [], preset["name"]
        assert page.errors == [], preset["name"]
    page.get_by_role("button", name="Dismiss the lesson note").click()
    assert not note.is_visible() and "preset=" not in page.evaluate("location.hash")


def test_every_comparison_preset_loads_and_trains(make_page, server):
    compare = [p for p in presets(server) if is_compare(p)]
    assert len(compare) >= 2
    page = make_page(server.url + "/")
    page.get_by_label("Lessons", exact=True).select_option(compare[0]["name"])  # opens the compare view
    page.wait_for_url("**/compare#**")
    wait_ready(page)
    for preset in compare:
        if preset is not compare[0]:
            page.get_by_label("Lessons", exact=True).select_option(preset["name"])
        expect_config(page, preset)
        settle(page)
        n = len(preset["variants"])
        page.wait_for_function("(n) => window.nnplay.session.variantFrames.filter(Boolean).length === n", arg=n)
        assert page.locator(".variant-card").count() == n
        if preset.get("labels"):
            assert page.locator(".variant-title").all_inner_texts() == preset["labels"]
        train_a_little(page)
        page.wait_for_function("(n) => window.nnplay.view.cards.every((c) => c.lastEpoch >= n)", arg=STEP + 1)
        assert page.get_by_role("complementary", name="Lesson note").inner_text().find(preset["title"]) >= 0
        assert page.evaluate("window.nnplay.errors") == [] and page.errors == [], preset["name"]


def test_a_preset_link_loads_the_preset(make_page, server):
    preset = next(p for p in presets(server) if not is_compare(p) and p["config"].get("dataset") in ("xor", "spiral"))
    page = make_page(server.url + "/#preset=" + preset["name"])
    expect_config(page, preset)
    assert page.get_by_role("complementary", name="Lesson note").is_visible()
    assert f"dataset={preset['config']['dataset']}" in page.evaluate("location.hash")
    assert page.errors == []
