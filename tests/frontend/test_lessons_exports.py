"""Exports: the JSON of config + weights re-imports to the identical network, the animated GIF has the
requested frames, PNGs of the view and of the plot, CSVs of the loss history and of the data."""

from __future__ import annotations

import csv
import json

import pytest
from lesson_helpers import download, wait_epoch
from page_helpers import settle

pytestmark = pytest.mark.browser

SETUP = "#dataset=xor&networkShape=5,3&x=true&y=true&xTimesY=true&activation=relu&learningRate=0.03&seed=21"


def open_exports(page):
    menu = page.locator("details.exports")
    if not menu.evaluate("d => d.open"):
        page.get_by_text("Export", exact=True).click()
    return menu


def trained(make_page, server, epochs: int = 12):
    page = make_page(server.url + "/" + SETUP)
    page.evaluate("(n) => window.nnplay.hub.emit('command', {type: 'step', n})", epochs)
    wait_epoch(page, epochs)
    page.wait_for_function("(n) => { const s = window.nnplay.session;"
                           " return s.lastFrame.header.epoch === n && !s.playing; }", arg=epochs)
    return page


def test_json_export_reimports_to_identical_predictions(make_page, server):
    first = trained(make_page, server)
    open_exports(first)
    path = download(first, lambda: first.get_by_role("button", name="Export the network as JSON").click())
    saved = json.loads(path.read_text())
    assert saved["epoch"] == 12 and saved["config"]["dataset"] == "xor" and len(saved["weights"]) == 3
    assert saved["weights"][0]["W"] and len(saved["weights"][0]["W"]) == 5 and len(saved["weights"][0]["W"][0]) == 3

    second = make_page(server.url + "/")  # another setup entirely
    open_exports(second)
    second.get_by_label("Import network (JSON)").set_input_files(str(path))
    second.wait_for_function("window.nnplay.session.serverState?.config.dataset === 'xor'")
    settle(second)
    second.wait_for_function("window.nnplay.session.epoch === 12")
    read = ("(() => { const a = window.nnplay.session.lastFrame.arrays;"
            " return [Array.from(a.output), Array.from(a.weights)]; })()")
    output_a, weights_a = first.evaluate(read)
    output_b, weights_b = second.evaluate(read)
    assert weights_b == weights_a, "the weights come back exactly"
    assert output_b == output_a, "the same predictions everywhere on the grid"
    assert "networkShape=5,3" in second.evaluate("location.hash")
    assert first.errors == [] and second.errors == []


def test_gif_has_the_requested_frames(make_page, server):
    image = pytest.importorskip("PIL.Image")
    page = make_page(server.url + "/" + SETUP)
    open_exports(page)
    page.get_by_label("GIF epochs").fill("20")
    page.get_by_label("Frame every (epochs)").fill("5")
    path = download(page, lambda: page.get_by_role("button", name="Export an animated GIF").click())
    with image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 20 // 5 + 1
    assert page.get_by_label("GIF status").inner_text() == "5 frames"
    assert page.errors == []


def test_pngs_and_csvs(make_page, server):
    image = pytest.importorskip("PIL.Image")
    page = trained(make_page, server, epochs=8)
    open_exports(page)
    view = download(page, lambda: page.get_by_role("button", name="Export a PNG of the view").click())
    with image.open(view) as png:
        assert png.format == "PNG" and png.width > 800 and len(png.convert("RGB").getcolors(1 << 20)) > 50
    plot = download(page, lambda: page.get_by_role("button", name="Export a server-rendered PNG of the plot").click())
    with image.open(plot) as png:
        assert png.size == (800, 800)
    def rows_of(button: str) -> list[list[str]]:
        path = download(page, lambda: page.get_by_role("button", name=button).click())
        return list(csv.reader(path.read_text().splitlines()))

    losses = rows_of("Export the loss history as CSV")
    assert losses[0] == ["epoch", "train_loss", "test_loss"] and losses[-1][0] == "8"
    assert all(float(r[1]) > 0 for r in losses[1:])
    rows = rows_of("Export the data as CSV")
    state = page.evaluate("window.nnplay.session.serverState")
    assert rows[0] == ["x1", "x2", "label", "split"] and len(rows) - 1 == state["n_train"] + state["n_test"]
    assert {r[3] for r in rows[1:]} == {"train", "test"} and {r[2] for r in rows[1:]} == {"1", "-1"}
    assert page.errors == []
