"""Pictures at their largest allowed size hold one uint8 canvas, a band of float rows and the grid's
evaluation, not float copies of the whole picture (server/jobs/pictures.py)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from nnplay.engine import Trainer
from nnplay.server.jobs.pictures import GifPalette, Picture, band_rows, upscale, upscale_winner
from nnplay.server.routes.lessons import GifRequest, RenderRequest
from nnplay.server.settings import Settings

BESIDES_CANVAS = 24 << 20  # the grid evaluated at density 200 (about 6 MB), a band's float rows, the points
SIX_CLASSES = {"dataset": "spiral_multi", "n_classes": 6, "seed": 1, "hidden": [4], "n_samples": 200}


def largest(request_model) -> int:
    """The largest size a request may ask for: its schema's maximum, or (GIFs) the server's max_gif_size."""
    maximum = request_model.model_json_schema()["properties"]["size"].get("maximum")
    return maximum if maximum is not None else Settings.model_fields["max_gif_size"].default


def traced_peak(draw) -> int:
    """Peak bytes Python and NumPy allocate while ``draw()`` runs (Pillow's own buffers are not traced)."""
    tracemalloc.start()
    try:
        draw()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("request_model, on_palette", [(RenderRequest, False), (GifRequest, True)])
def test_the_largest_picture_holds_its_canvas_and_a_band_not_copies_of_the_picture(request_model, on_palette):
    trainer = Trainer(SIX_CLASSES)
    size = largest(request_model)
    palette = GifPalette(trainer.task, trainer.config.n_classes) if on_palette else None
    Picture(size=64).image(trainer, palette)  # caches (the font, the grid's buffers) are not the picture's
    peak = traced_peak(lambda: Picture(size=size, density=200).image(trainer, palette))
    canvas = size * size * (1 if on_palette else 3)  # a byte per pixel and channel (a GIF's: its palette index)
    assert peak < canvas + BESIDES_CANVAS, f"{peak / 2**20:.0f} MB for a {size}-px picture"


def test_a_band_of_rows_equals_those_rows_of_the_whole_picture():
    rng = np.random.default_rng(1)
    grid, probabilities = rng.random((37, 37), np.float32), rng.random((4, 37, 37), np.float32)
    probabilities[2, 5, 5] = np.nan
    size = 1000
    step = band_rows(size)
    assert 1 < step < size
    bands = [slice(start, min(start + step, size)) for start in range(0, size, step)]
    assert np.array_equal(np.concatenate([upscale(grid, size, rows) for rows in bands]), upscale(grid, size))
    classes, confidence = upscale_winner(probabilities, size)
    banded = [upscale_winner(probabilities, size, rows) for rows in bands]
    assert np.array_equal(np.concatenate([c for c, _ in banded]), classes)
    assert np.array_equal(np.concatenate([p for _, p in banded]), confidence, equal_nan=True)
