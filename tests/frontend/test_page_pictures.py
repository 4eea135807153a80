"""Server pictures agree with the page: the export requests carry the real epoch and the setup's start, and a
server-rendered pixel has the colour the page's own heatmap code gives the same value."""

from __future__ import annotations

import io
import json
import urllib.request

import numpy as np
import pytest
from lesson_helpers import wait_epoch

pytestmark = pytest.mark.browser

SETUP = "#dataset=xor&networkShape=5,3&x=true&y=true&xTimesY=true&activation=relu&learningRate=0.03&seed=21"
GRID_EXTENT = 6


def open_exports(page):
    if not page.locator("details.exports").evaluate("d => d.open"):
        page.get_by_text("Export", exact=True).click()


def post(url: str, body: dict) -> bytes:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()


def pixels(content: bytes) -> np.ndarray:
    image = pytest.importorskip("PIL.Image")
    with image.open(io.BytesIO(content)) as picture:
        return np.asarray(picture.convert("RGB")).astype(int)


def test_exports_ask_for_the_real_epoch_and_a_gif_from_the_setups_start(make_page, server):
    page = make_page(server.url + "/" + SETUP)
    initial = page.evaluate("window.nnplay.session.currentWeights()")
    page.evaluate("window.nnplay.hub.emit('command', {type: 'step', n: 12})")
    wait_epoch(page, 12)
    page.wait_for_function("!window.nnplay.session.playing && window.nnplay.session.lastFrame.header.epoch === 12")
    trained = page.evaluate("window.nnplay.session.currentWeights()")
    open_exports(page)

    with page.expect_download(timeout=30_000), page.expect_request("**/api/render") as png_request:
        page.get_by_role("button", name="Export a server-rendered PNG of the plot").click()
    png_body = png_request.value.post_data_json
    assert png_body["start_epoch"] == 12 and png_body["weights"] == trained and png_body["epochs"] == 0

    page.get_by_label("GIF epochs").fill("20")
    page.get_by_label("Frame every (epochs)").fill("10")
    with page.expect_download(timeout=30_000) as gif_download, page.expect_request("**/api/render/gif") as gif_request:
        page.get_by_role("button", name="Export an animated GIF").click()
    gif_body = gif_request.value.post_data_json
    assert gif_body["start_epoch"] == 0 and gif_body["weights"] == initial != trained

    image = pytest.importorskip("PIL.Image")
    with image.open(gif_download.value.path()) as gif:
        first = np.asarray(gif.convert("RGB")).copy()
        gif.seek(gif.n_frames - 1)
        last = np.asarray(gif.convert("RGB"))
    assert gif.n_frames == 3 and (first != last).any(axis=2).mean() > 0.01  # it trains from epoch 0: not a still
    # the first frame is this setup at epoch 0, as the server draws it from the setup's own config
    still = {key: value for key, value in gif_body.items() if key not in ("frame_step", "frame_ms")}
    at_start = pixels(post(server.url + "/api/render", {**still, "epochs": 0}))
    below_caption = slice(32, None)  # under the caption band (its font is at least 14 px)
    assert (first[below_caption] == at_start[below_caption]).all()
    assert page.errors == []


def test_a_server_pixel_has_the_colour_the_page_gives_its_value(make_page, server):
    """Multiclass (class 0 blue, blended from the page's grey) and binary cells of a server PNG, against
    the page's output-heatmap.js painting the very same values."""
    page = make_page(server.url + "/")
    density, cell = 20, 9  # the middle pixel of an odd cell samples the cell itself
    for config in ({"problem": "classification", "dataset": "blobs", "n_classes": 3, "hidden": [6], "seed": 4},
                   {"dataset": "circle", "hidden": [4], "seed": 2}):
        run = json.loads(post(server.url + "/api/train", {"config": config, "epochs": 30, "density": density,
                                                          "include": ["grid", "data"]}))
        image = pixels(post(server.url + "/api/render", {"config": config, "epochs": 30, "density": density,
                                                         "size": density * cell, "caption": False,
                                                         "show_test": False}))
        values = np.array(run["grid"]["values"])
        classes = np.array(run["grid"]["classes"]) if run["grid"]["classes"] is not None else None
        cells = point_free_cells(run["data"]["train"], density, cell)
        k = config.get("n_classes", 0)
        asked = [[int(classes[r, c]) if k else 0, float(values[r, c]), k] for r, c in cells]
        page_colours = page.evaluate(PAGE_COLOURS, asked)
        for (r, c), colour in zip(cells, page_colours):
            middle = image[r * cell + cell // 2, c * cell + cell // 2]
            assert (middle == colour).all(), f"{config['dataset']} cell {r, c}: value {values[r, c]}"
        if k:
            assert {int(classes[r, c]) for r, c in cells} == {0, 1, 2}
    assert page.errors == []


# The page's own painters (frontend/js/output-heatmap.js) on a 1×1 image: a quantised array whose lo = hi = the
# value decodes every byte to exactly that value.
PAGE_COLOURS = """async (cells) => {
  const heatmap = await import('./js/output-heatmap.js');
  return cells.map(([cls, value, k]) => {
    const image = { width: 1, height: 1, data: new Uint8ClampedArray(4) };
    const bytes = Uint8Array.of(0);
    bytes.lo = value; bytes.hi = value;
    if (k) heatmap.paintClasses(image, bytes, Uint8Array.of(cls), k);
    else heatmap.paintGrid(image, bytes, value, value);
    return Array.from(image.data.slice(0, 3));
  });
}"""


def point_free_cells(rows: list, density: int, cell: int, reach: float = 5, most: int = 60) -> list[tuple[int, int]]:
    """Up to ``most`` grid cells (row, column), spread over the plot, that no drawn point touches."""
    touched = np.zeros((density, density), bool)
    scale = density * cell / (2 * GRID_EXTENT)
    for x1, x2, _ in rows:
        x, y = (x1 + GRID_EXTENT) * scale, (GRID_EXTENT - x2) * scale
        touched[max(0, int((y - reach) // cell)): int((y + reach) // cell) + 1,
                max(0, int((x - reach) // cell)): int((x + reach) // cell) + 1] = True
    free = list(zip(*np.nonzero(~touched)))
    return free[:: max(1, len(free) // most)]
