"""POST /api/render and /api/render/gif: real epochs in captions, GIFs that start where the request says,
pictures in the palette /api/options sends, a limit on renders at once, and renders that stop when their
client leaves."""

from __future__ import annotations

import http.client
import io
import json
import select
import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np
import uvicorn
from PIL import Image
from server_helpers import make_settings, wait_until

from nnplay.engine.features import GRID_EXTENT
from nnplay.server.main import create_app

FULL_BATCH = {"dataset": "xor", "hidden": [4], "seed": 3, "n_samples": 200, "batch_size": 100}  # no shuffling


def pixels(content: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(content)) as image:
        return np.asarray(image.convert("RGB")).astype(int)


def frames(content: bytes) -> list[np.ndarray]:
    with Image.open(io.BytesIO(content)) as gif:
        out = []
        for index in range(gif.n_frames):
            gif.seek(index)
            out.append(np.asarray(gif.convert("RGB")).astype(int))
        return out


def gif_palette_of(content: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(content)) as gif:
        return np.array(gif.getpalette()).reshape(-1, 3)


def weights_after(client, config: dict, epochs: int) -> list:
    answer = client.post("/api/train", json={"config": config, "epochs": epochs, "include": ["weights"]})
    return answer.json()["weights"]


def test_options_send_the_palette_and_the_plot_geometry(client):
    options = client.get("/api/options").json()
    view = options["view"]
    assert (view["extent"], view["density"], view["thumb"], view["feature_thumb"]) == (GRID_EXTENT, 100, 10, 10)
    assert all(len(feature["thumbnail"]) == 10 * 10 for feature in options["features"])
    palette = options["palette"]
    assert len(palette["diverging"]) == 3 and palette["shades"] == 31 and len(palette["classes"]) == 6


def test_png_caption_shows_the_epoch_the_weights_are_at(client):
    """Weights trained 30 epochs, drawn with start_epoch 30, give the very picture of a run trained 30 epochs
    by the server itself (caption included); drawn as if at epoch 0 only the caption differs."""
    size = {"size": 160}
    trained_here = pixels(client.post("/api/render", json={"config": FULL_BATCH, "epochs": 30, **size}).content)
    weights = weights_after(client, FULL_BATCH, 30)
    body = {"config": FULL_BATCH, "weights": weights, "start_epoch": 30, **size}
    response = client.post("/api/render", json=body)
    assert response.status_code == 200, response.text
    assert (pixels(response.content) == trained_here).all()
    at_zero = pixels(client.post("/api/render", json={**body, "start_epoch": 0}).content)
    differs = np.nonzero((at_zero != trained_here).any(axis=2))[0]
    assert differs.size and differs.max() < 20  # the caption band only


def test_a_gif_from_start_weights_labels_real_epochs_and_trains_on(client):
    """A GIF of the setup from its initial weights shows epochs 0, 10, 20; one started from the weights at
    epoch 10 with start_epoch 10 shows the same frames for epochs 10 and 20 (captions included)."""
    whole = client.post("/api/render/gif", json={"config": FULL_BATCH, "epochs": 20, "frame_step": 10, "size": 96})
    later = client.post("/api/render/gif", json={"config": FULL_BATCH, "epochs": 10, "frame_step": 10, "size": 96,
                                                 "weights": weights_after(client, FULL_BATCH, 10), "start_epoch": 10})
    assert later.status_code == 200, later.text
    first, second = frames(whole.content), frames(later.content)
    assert len(first) == 3 and len(second) == 2
    assert (second[0] == first[1]).all() and (second[1] == first[2]).all()
    assert not (first[0] == first[2]).all()  # it trains: not a still


def test_gif_frames_are_the_pngs_of_the_same_epochs_on_the_gifs_palette(client):
    base = {"config": FULL_BATCH, "size": 120, "caption": False}
    gif = client.post("/api/render/gif", json={**base, "epochs": 20, "frame_step": 10}).content
    palette = gif_palette_of(gif)
    for frame, epochs in zip(frames(gif), (0, 10, 20)):
        png = pixels(client.post("/api/render", json={**base, "epochs": epochs}).content)
        assert (frame == png).all(), f"epoch {epochs}"
        assert np.isin(png.reshape(-1, 3) @ [65536, 256, 1], palette @ [65536, 256, 1]).all()


def expected_class_colour(palette: dict, cls: np.ndarray, p: np.ndarray, k: int) -> np.ndarray:
    """The palette's rule: blend from the neutral grey (p = 1/k) to the class colour (p = 1), then paint at
    heatmap_alpha over white."""
    hex_rgb = lambda text: np.array([int(text[i:i + 2], 16) for i in (1, 3, 5)])  # noqa: E731
    neutral = hex_rgb(palette["diverging"][1])
    full = np.array([hex_rgb(c) for c in palette["classes"]])[cls]
    t = np.clip((p - 1 / k) / (1 - 1 / k), 0, 1)[..., None]
    return np.floor(255 + (neutral + (full - neutral) * t - 255) * palette["heatmap_alpha"] / 255 + 0.5)


def cells_with_points(rows: list, density: int, cell: int, reach: float = 5) -> np.ndarray:
    """(density, density) bool: the cells a point drawn at its (x1, x2) may touch (within ``reach`` px)."""
    touched = np.zeros((density, density), bool)
    scale = density * cell / (2 * GRID_EXTENT)
    for x1, x2, _ in rows:
        x, y = (x1 + GRID_EXTENT) * scale, (GRID_EXTENT - x2) * scale
        cols = slice(max(0, int((x - reach) // cell)), int((x + reach) // cell) + 1)
        touched[max(0, int((y - reach) // cell)): int((y + reach) // cell) + 1, cols] = True
    return touched


def test_multiclass_pictures_use_the_palette_the_options_send(client):
    """Each cell's middle pixel (cells of 9 px: the picture is the grid scaled up smoothly, and the middle
    of an odd cell samples the cell itself) has the palette's colour for that cell's class and probability."""
    palette = client.get("/api/options").json()["palette"]
    config = {"problem": "classification", "dataset": "blobs", "n_classes": 3, "hidden": [6], "seed": 4}
    density, cell = 20, 9
    run = client.post("/api/train", json={"config": config, "epochs": 40, "include": ["grid", "data"],
                                          "density": density}).json()
    image = pixels(client.post("/api/render", json={"config": config, "epochs": 40, "density": density,
                                                    "size": density * cell, "caption": False,
                                                    "show_test": False}).content)
    classes, confidence = np.array(run["grid"]["classes"]), np.array(run["grid"]["values"])
    expected = expected_class_colour(palette, classes, confidence, 3)
    middles = image[cell // 2::cell, cell // 2::cell]
    free = ~cells_with_points(run["data"]["train"], density, cell)
    assert free.mean() > 0.5 and (classes[free] == 0).any() and (classes[free] == 1).any()
    assert (middles[free] == expected[free]).all()


def test_density_out_of_range_is_refused_naming_the_field(client):
    response = client.post("/api/render", json={"config": {}, "density": 5})
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "density"


# ---- a real server: concurrent renders and clients that leave ------------------------------------------------
@contextmanager
def serving(**overrides: Any) -> Iterator[tuple[str, int]]:
    """The app under uvicorn in a thread, on a free loopback port: yields (host, port)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    host, port = listener.getsockname()
    server = uvicorn.Server(uvicorn.Config(create_app(make_settings(**overrides)), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, "the server did not start", 20)
        yield host, port
    finally:
        server.should_exit = True
        thread.join(30)
        listener.close()


def post(address: tuple[str, int], path: str, body: dict, timeout: float = 60) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(*address, timeout=timeout)
    try:
        connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def answered(response: tuple[int, bytes], status: int):
    return response if response[0] == status else None


SMALL_PNG = {"config": {"dataset": "xor", "hidden": [2], "n_samples": 50}, "size": 64, "density": 10}
# minutes of work: the largest network on the most points, 5,000 epochs, a large frame every 20 epochs
ENDLESS_GIF = {"config": {"dataset": "spiral", "n_samples": 5000, "hidden": [32] * 10,
                          "features": ["x1", "x2", "x1_sq", "x2_sq", "x1_x2", "sin_x1", "sin_x2"]},
               "epochs": 5000, "frame_step": 20, "size": 800}


def start_gif(address: tuple[str, int]) -> http.client.HTTPConnection:
    """A long GIF request sent on its own connection, not waited for."""
    connection = http.client.HTTPConnection(*address, timeout=60)
    connection.request("POST", "/api/render/gif", json.dumps(ENDLESS_GIF), {"Content-Type": "application/json"})
    return connection


def test_renders_beyond_the_limit_get_429_and_an_abandoned_render_frees_its_place():
    with serving(max_renders=1, max_epochs=5000) as address:
        gif = {"connection": start_gif(address)}

        def second_render_refused():
            if select.select([gif["connection"].sock], [], [], 0)[0]:  # the GIF was answered: a PNG took the
                gif["connection"].close()                               # place first; the GIF asks again
                gif["connection"] = start_gif(address)
                time.sleep(0.1)
                return None
            return answered(post(address, "/api/render", SMALL_PNG), 429)

        try:
            status, body = wait_until(second_render_refused, "the second render was never refused", 30)
            assert "NNPLAY_MAX_RENDERS = 1" in json.loads(body)["detail"]
        finally:
            gif["connection"].close()  # the client goes away: its render stops within a slice and frees its place
        status, body = wait_until(lambda: answered(post(address, "/api/render", SMALL_PNG), 200),
                                  "the abandoned render kept its place", 30)
        assert body.startswith(b"\x89PNG")
