"""GIFs for a lecture: the widths the page offers come from the server's max_gif_size setting, a caption
that reads at every width, and a comparison's GIF with its variants side by side (2 × 2 for four)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from nnplay.server.jobs.mosaic import Layout
from nnplay.server.jobs.pictures import gif_frame_count

SETUP = {"dataset": "xor", "hidden": [4], "seed": 3, "n_samples": 100}
RACE = [{"optimizer": "sgd"}, {"optimizer": "adam", "learning_rate": 0.03}, {"optimizer": "rmsprop"},
        {"optimizer": "momentum", "learning_rate": 0.1}]


def gif_frames(content: bytes) -> list[np.ndarray]:
    with Image.open(io.BytesIO(content)) as gif:
        out = []
        for index in range(gif.n_frames):
            gif.seek(index)
            out.append(np.asarray(gif.convert("RGB")).astype(int))
        return out


def caption_ink(frame: np.ndarray) -> tuple[int, int]:
    """(height, rightmost column) of the black caption text in the top band of a frame drawn without test
    points (the only black on it is the caption's)."""
    top = frame[: frame.shape[1] // 8]
    rows, columns = np.nonzero((top < 60).all(axis=2))
    return int(rows.max() - rows.min() + 1), int(columns.max())


def test_the_gif_widths_are_the_servers_and_its_cap_is_a_setting(client, client_for):
    assert client.get("/api/options").json()["menus"]["gif_size"] == [300, 600, 900]
    with client_for(max_gif_size=600) as small:
        assert small.get("/api/options").json()["menus"]["gif_size"] == [300, 600]
        answer = small.post("/api/render/gif", json={"config": SETUP, "epochs": 2, "size": 900})
        assert answer.status_code == 422
        detail = answer.json()["detail"][0]
        assert (detail["field"], detail["value"], detail["allowed"]) == ("size", 900, "64 to 600")
    answer = client.post("/api/render/gif", json={"config": SETUP, "epochs": 2, "frame_step": 1, "size": 900})
    assert answer.status_code == 200 and gif_frames(answer.content)[0].shape[:2] == (900, 900)


@pytest.mark.parametrize("size", [300, 600, 900])
def test_the_caption_reads_at_every_gif_width(client, size):
    """The caption's letters are at least 4 % of the picture's width tall (12 px on a 300-px GIF shown in a
    slide, 36 px on a 900-px one), and the whole caption fits on the picture."""
    answer = client.post("/api/render/gif", json={"config": SETUP, "epochs": 1, "frame_step": 1, "size": size,
                                                  "show_test": False, "density": 20})
    height, right = caption_ink(gif_frames(answer.content)[-1])
    assert height >= 0.04 * size, (size, height)
    assert right <= size - 3, (size, right)


def test_a_comparison_gif_shows_the_variants_side_by_side(client):
    body = {"config": SETUP, "variants": RACE, "labels": ["SGD", "Adam", "RMSprop", "Momentum"], "epochs": 20,
            "frame_step": 10, "size": 600, "density": 20}
    answer = client.post("/api/render/compare-gif", json=body)
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/gif"
    frames = gif_frames(answer.content)
    assert len(frames) == int(answer.headers["x-frame-count"]) == gif_frame_count(20, 10)
    height, width = frames[0].shape[:2]
    assert width == 600 and height > width  # 2 × 2 tiles under a caption

    layout = Layout(4, 600)
    assert (layout.columns, layout.rows, layout.height) == (2, 2, height)

    def tiles(frame: np.ndarray) -> list[np.ndarray]:
        corners = [layout.corner(i) for i in range(4)]
        return [frame[y + layout.title:y + layout.title + layout.tile, x:x + layout.tile] for x, y in corners]

    first, last = tiles(frames[0]), tiles(frames[-1])
    assert all(np.array_equal(first[0], tile) for tile in first[1:])  # epoch 0: the same initial weights
    assert not any(np.array_equal(last[0], tile) for tile in last[1:])  # epoch 20: four optimisers apart


@pytest.mark.parametrize("change,field", [({"size": 2000}, "size"), ({"epochs": 400, "frame_step": 1}, "frame_step"),
                                          ({"variants": RACE[:1]}, "variants")])
def test_a_bad_comparison_gif_request_names_the_field(client, change, field):
    body = {"config": SETUP, "variants": RACE[:2], "epochs": 10, **change}
    answer = client.post("/api/render/compare-gif", json=body)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["field"] == field
