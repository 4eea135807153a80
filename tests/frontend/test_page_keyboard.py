"""The keyboard, as a lecturer at a lectern uses it: browsing the Lessons menu with the arrows loads nothing
until Enter; Escape closes the Export menu."""

from __future__ import annotations

import pytest
from page_helpers import settle

pytestmark = pytest.mark.browser


def test_arrow_keys_browse_the_lessons_and_enter_loads_one(page):
    lessons = page.get_by_label("Lessons", exact=True)
    lessons.focus()
    n = page.evaluate("window.nnplay.presets.presets.length")
    for _ in range(n):  # past every lesson, comparisons (which live on /compare) included
        page.keyboard.press("ArrowDown")
    page.wait_for_timeout(300)
    assert page.evaluate("location.pathname") == "/"
    assert page.evaluate("window.nnplay.state.values.preset") == ""
    for _ in range(n - 1):
        page.keyboard.press("ArrowUp")
    chosen = lessons.input_value()
    page.keyboard.press("Enter")
    page.wait_for_function("(n) => window.nnplay.state.values.preset === n", arg=chosen)
    settle(page)
    assert page.get_by_role("complementary", name="Lesson note").is_visible()
    # browsing again and leaving with Tab keeps the loaded lesson (and the menu shows it)
    lessons.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    assert page.evaluate("window.nnplay.state.values.preset") == chosen and lessons.input_value() == chosen


def test_escape_closes_the_export_menu(page):
    page.get_by_text("Export", exact=True).click()
    page.get_by_label("GIF epochs", exact=True).focus()
    page.keyboard.press("Escape")
    assert page.evaluate("document.querySelector('.exports').open") is False
    assert page.evaluate("document.activeElement.textContent") == "Export"
