"""Server-rendered PNG and GIF pictures of a run."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from nnplay.engine import Trainer
from nnplay.server.render import PALETTE, colour_values, render_gif, render_png


def test_palette_runs_from_orange_through_grey_to_blue():
    assert PALETTE.shape == (31, 3)
    assert tuple(PALETTE[0]) == (0xF5, 0x93, 0x22)
    assert tuple(PALETTE[15]) == (0xE8, 0xEA, 0xEB)
    assert tuple(PALETTE[30]) == (0x08, 0x77, 0xBD)


def test_colour_values_marks_nan_grey_and_discretizes_by_sign():
    rgb = colour_values(np.array([[-1.0, np.nan, 0.2, 1.0]]), discretize=True)
    assert tuple(rgb[0, 1]) == (170, 170, 170)
    assert tuple(rgb[0, 2]) == tuple(rgb[0, 3])  # 0.2 and 1.0 share the sign, so the colour


def test_png_shows_both_classes_of_a_trained_run():
    trainer = Trainer({"dataset": "xor", "hidden": [4], "seed": 1})
    trainer.train(100)
    image = Image.open(io.BytesIO(render_png(trainer, size=200)))
    assert image.size == (200, 200) and image.format == "PNG"
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3).astype(int)
    blueish = (pixels[:, 2] > pixels[:, 0] + 60).mean()
    orangeish = (pixels[:, 0] > pixels[:, 2] + 60).mean()
    assert blueish > 0.2 and orangeish > 0.2


def test_gif_has_one_frame_per_step_plus_the_first_and_last():
    trainer = Trainer({"dataset": "circle", "seed": 3})
    data, frames = render_gif(trainer, epochs=25, frame_step=10, size=96)
    gif = Image.open(io.BytesIO(data))
    assert frames == 4 and gif.n_frames == 4  # epochs 0, 10, 20, 25
    assert trainer.epoch == 25


def test_render_rejects_bad_sizes_and_too_many_frames():
    trainer = Trainer({"dataset": "circle", "seed": 3})
    with pytest.raises(ValueError, match="size"):
        render_png(trainer, size=10)
    with pytest.raises(ValueError, match="frames"):
        render_gif(trainer, epochs=5000, frame_step=1)
