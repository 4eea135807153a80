"""GIF export for a lecture: the width is one of the server's, the fields refuse exactly what the server
would refuse (before any request), and the compare view exports a GIF of its variants as the playground
exports one of its run."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from lesson_helpers import download

pytestmark = pytest.mark.browser


def server_status(server, path: str, body: dict) -> int:
    request = urllib.request.Request(server.url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def open_exports(page) -> None:
    if not page.locator("details.exports").evaluate("d => d.open"):
        page.get_by_text("Export", exact=True).click()


def gif_image(path):
    image = pytest.importorskip("PIL.Image")
    with image.open(path) as gif:
        return gif.size, gif.n_frames


def test_gif_fields_refuse_what_the_server_refuses(make_page, server):
    page = make_page(server.url + "/")
    open_exports(page)
    options = page.evaluate("window.nnplay.options")
    assert page.get_by_label("GIF width (pixels)").locator("option").all_inner_texts() == [
        f"{size} px" for size in options["menus"]["gif_size"]]
    top = options["server_limits"]["max_epochs"]
    button = page.get_by_role("button", name="Export an animated GIF")
    refused = [(top + 1, 10), (0, 1), (600, 1), (600, 2), (1, 0)]  # over the caps: epochs, or > max_gif_frames
    for epochs, step in refused:
        page.get_by_label("GIF epochs").fill(str(epochs))
        page.get_by_label("Frame every (epochs)").fill(str(step))
        assert button.is_disabled(), (epochs, step)
        config = page.evaluate("window.nnplay.state.config()")
        body = {"config": config, "epochs": epochs, "frame_step": step, "size": 64}
        assert server_status(server, "/api/render/gif", body) == 422, (epochs, step)
    assert page.get_by_label("GIF status").inner_text() == "Frame every: a whole number of epochs, at least 1"
    page.get_by_label("GIF epochs").fill("600")
    page.get_by_label("Frame every (epochs)").fill("2")
    assert page.get_by_label("GIF status").inner_text() == "Frame every: at least 3 for 600 epochs (at most 300 frames)"
    page.get_by_label("Frame every (epochs)").fill("3")  # 201 frames: the server takes it
    assert button.is_enabled() and page.get_by_label("GIF status").inner_text() == ""
    # a small one, 600 px wide
    page.get_by_label("GIF epochs").fill("4")
    page.get_by_label("Frame every (epochs)").fill("2")
    page.get_by_label("GIF width (pixels)").select_option("600")
    path = download(page, lambda: button.click())
    assert gif_image(path) == ((600, 600), 3)
    assert page.errors == []


def test_the_compare_view_exports_a_gif_of_its_variants(make_page, server):
    page = make_page(server.url + "/compare#preset=optimizer_race")
    open_exports(page)
    assert page.get_by_label("GIF epochs").input_value() == "300"  # the lesson's suggested run
    page.get_by_label("GIF epochs").fill("4")
    page.get_by_label("Frame every (epochs)").fill("2")
    with page.expect_request("**/api/render/compare-gif") as request:
        path = download(page, lambda: page.get_by_role("button", name="Export an animated GIF").click())
    body = request.value.post_data_json
    assert body["variants"] == page.evaluate("window.nnplay.state.values.variants") and len(body["variants"]) == 4
    (width, height), frames = gif_image(path)
    assert (width, frames) == (300, 3) and height > width  # 2 × 2 under a caption
    assert page.get_by_label("GIF status").inner_text() == "3 frames"
    assert page.errors == []
