"""Custom data: click to add and remove points, CSV upload with per-row errors, kept over a reload."""

from __future__ import annotations

from pathlib import Path

import pytest
from page_helpers import settle, wait_ready

pytestmark = pytest.mark.browser


def total_points(page) -> int:
    return page.evaluate("(() => { const s = window.nnplay.session.serverState; return s.n_train + s.n_test; })()")


def wait_points(page, n: int) -> None:
    page.wait_for_function("(n) => { const s = window.nnplay.session.serverState; return s.n_train + s.n_test === n; }",
                           arg=n)


def click_plot(page, x1: float, x2: float, **kwargs) -> None:
    plot = page.locator(".plot")
    box = plot.bounding_box()
    plot.click(position={"x": (x1 + 6) / 12 * box["width"], "y": (6 - x2) / 12 * box["height"]}, **kwargs)


def test_add_and_remove_custom_points(page):
    page.get_by_role("button", name="Dataset: Custom").click()
    page.get_by_role("button", name="Clear points").click()
    click_plot(page, -3, 3)
    assert page.get_by_text("Click to add points: at least 2 are needed").is_visible()
    click_plot(page, 3, -3, modifiers=["Shift"])
    page.wait_for_function("window.nnplay.session.serverState?.config.dataset === 'custom'")
    settle(page)
    assert total_points(page) == 2
    assert page.evaluate("window.nnplay.state.customPoints().map(p => p[2])") == [1, -1]
    click_plot(page, 0, 4)
    wait_points(page, 3)
    click_plot(page, 0, 4)  # on the point: removes it
    wait_points(page, 2)
    page.reload()
    wait_ready(page)
    assert page.evaluate("window.nnplay.state.datasetName()") == "custom"
    assert total_points(page) == 2, "the custom points survive a reload"
    assert page.errors == []


def test_csv_upload_reports_bad_rows(page):
    page.get_by_role("button", name="Dataset: Custom").click()
    csv = b"x1,x2,label\n1,1,1\n-1,-1,-1\n2,abc,1\n9,0,1\n1,2\n-2,2,-1\n"
    page.get_by_label("Upload CSV").set_input_files({"name": "points.csv", "mimeType": "text/csv", "buffer": csv})
    errors = page.get_by_role("alert", name="CSV errors")
    errors.wait_for()
    text = errors.inner_text()
    assert 'row 4: x2 "abc" is not a number' in text
    assert "row 5: x1 = 9 is outside the plot" in text
    assert "row 6: expected 3 values" in text
    assert "3 points read from points.csv" in text
    wait_points(page, 3)


def test_data_csv_round_trip_rescale_and_clear(page):
    """"Data (CSV)" (x1,x2,label,split, 7 significant digits) uploads back as the same points; points off the
    plot are offered a rescale; Clear clears the old messages too."""
    page.get_by_text("Export", exact=True).click()
    with page.expect_download() as info:
        page.get_by_role("button", name="Export the data as CSV").click()
    text = Path(info.value.path()).read_text()
    rows = [line.split(",") for line in text.splitlines()[1:]]
    digits = lambda cell: len(cell.lstrip("-").replace(".", "").lstrip("0").rstrip("0"))  # noqa: E731
    assert all(digits(c) <= 7 for row in rows for c in row[:2]), "no float32 noise"
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Dataset: Custom").click()
    page.get_by_label("Upload CSV").set_input_files({"name": "data.csv", "mimeType": "text/csv", "buffer": text.encode()})
    errors = page.get_by_role("alert", name="CSV errors")
    errors.get_by_text(f"{len(rows)} points read from data.csv").wait_for()
    assert errors.locator("li").count() == 1
    wait_points(page, len(rows))
    stored = page.evaluate("window.nnplay.state.customPoints()")
    assert stored == [[float(r[0]), float(r[1]), float(r[2])] for r in rows]

    page.get_by_label("Upload CSV").set_input_files({"name": "far.csv", "mimeType": "text/csv",
                                                     "buffer": b"12,0,1\n-6,3,-1\n0,-9,1\n"})
    errors.get_by_text("row 1: x1 = 12 is outside the plot").wait_for()
    errors.get_by_role("button", name="Rescale every point by 0.5 to fit [−6, 6]").click()
    errors.get_by_text("3 points read from far.csv (scaled by 0.5)").wait_for()
    assert page.evaluate("window.nnplay.state.customPoints()") == [[6, 0, 1], [-3, 1.5, -1], [0, -4.5, 1]]
    page.get_by_role("button", name="Clear points").click()
    assert errors.locator("li").count() == 0
