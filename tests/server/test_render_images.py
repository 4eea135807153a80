"""The server's renderer (server/jobs/pictures.py): colours from the shared palette, films played into a GIF
frame by frame or into a still."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from nnplay.engine import Trainer
from nnplay.engine.presets import PRESETS
from nnplay.server.jobs.pictures import (
    SCALE, Film, GifPalette, GifWriter, Picture, StillWriter, colour_classes, colour_values, gif_frame_count,
)
from nnplay.server.options import PALETTE


def hex_rgb(text: str) -> tuple[int, ...]:
    return tuple(int(text[i:i + 2], 16) for i in (1, 3, 5))


def faded(colour, alpha=PALETTE["heatmap_alpha"]) -> tuple[int, ...]:
    """The colour painted at alpha/255 over white, rounded, as the page's overWhite."""
    return tuple(int(np.floor(255 + (c - 255) * alpha / 255 + 0.5)) for c in colour)


def play(film: Film) -> Film:
    while not film.advance(lambda elapsed: False):
        pass
    return film


def test_scale_runs_through_the_palettes_three_stops():
    low, middle, high = (hex_rgb(c) for c in PALETTE["diverging"])
    assert SCALE.shape == (PALETTE["shades"], 3)
    assert (tuple(SCALE[0]), tuple(SCALE[15]), tuple(SCALE[30])) == (low, middle, high)


def test_values_are_faded_shades_nan_grey_and_discretized_by_sign():
    rgb = colour_values(np.array([[-1.0, np.nan, 0.2, 1.0, 0.0]]), discretize=True)
    assert tuple(rgb[0, 0]) == faded(hex_rgb(PALETTE["diverging"][0]))
    assert tuple(rgb[0, 1]) == hex_rgb(PALETTE["nan"])
    assert tuple(rgb[0, 2]) == tuple(rgb[0, 3]) == faded(hex_rgb(PALETTE["diverging"][2]))
    assert tuple(rgb[0, 4]) == faded(hex_rgb(PALETTE["diverging"][1]))


def test_classes_blend_from_the_neutral_grey_at_chance_to_their_colour_when_certain():
    k = 3
    rgb = colour_classes(np.array([[0, 1, 2]]), np.array([[1 / k, 1.0, (1 / k + 1) / 2]]), k)
    neutral, full = np.array(hex_rgb(PALETTE["diverging"][1])), [np.array(hex_rgb(c)) for c in PALETTE["classes"]]
    assert tuple(rgb[0, 0]) == faded(neutral)  # chance: grey whatever the class
    assert tuple(rgb[0, 1]) == faded(full[1])  # certain: class 1's own colour
    assert tuple(rgb[0, 2]) == faded(neutral + (full[2] - neutral) * 0.5)


def test_a_gif_palette_holds_the_colours_of_the_scale_and_the_points():
    palette = GifPalette("binary", 2)
    values = np.linspace(-1.2, 1.2, 500)
    values[3] = np.nan
    assert (palette.colours[palette.values(values)] == colour_values(values)).all()
    assert all(tuple(palette.colours[palette.index(tuple(shade))]) == tuple(shade) for shade in SCALE)


def test_a_multiclass_gif_palette_holds_each_class_at_evenly_spaced_blend_levels():
    for k in (3, 6):
        palette = GifPalette("multiclass", k)
        t = np.linspace(0, 1, palette.levels)
        classes, confidence = np.arange(k).repeat(len(t)), np.tile(1 / k + t * (1 - 1 / k), k)
        on_palette = palette.colours[palette.classes(classes, confidence, k)]
        assert (on_palette == colour_classes(classes, confidence, k)).all()
        for colour in PALETTE["classes"][:k]:
            assert tuple(palette.colours[palette.index(hex_rgb(colour))]) == hex_rgb(colour)


def test_a_film_writes_a_gif_frame_at_the_start_every_step_and_at_the_end():
    trainer = Trainer({"dataset": "circle", "seed": 3})
    out = io.BytesIO()
    writer = GifWriter(out, 96, 70, GifPalette(trainer.task, 2))
    film = play(Film(trainer, Picture(size=96), writer, epochs=25, frame_step=10))
    with Image.open(io.BytesIO(out.getvalue())) as gif:
        assert gif.n_frames == film.sink.frames == gif_frame_count(25, 10) == 4  # epochs 0, 10, 20, 25
        assert gif.info["loop"] == 0 and gif.info["duration"] == 70
    assert trainer.epoch == 25


def test_gif_frames_are_the_pictures_drawn_on_its_palette():
    trainer = Trainer({"dataset": "xor", "hidden": [4], "seed": 1, "n_samples": 100})
    picture = Picture(size=120, caption=False)  # text is anti-aliased in RGB only
    palette = GifPalette(trainer.task, 2)
    out = io.BytesIO()
    writer = GifWriter(out, 120, 100, palette)
    drawn = []
    for _ in range(3):
        frame = picture.image(trainer, palette)
        drawn.append((np.asarray(frame.convert("RGB")), np.asarray(picture.image(trainer))))
        writer.add(frame)
        trainer.train(5)
    writer.close()
    with Image.open(io.BytesIO(out.getvalue())) as gif:
        for index, (on_palette, rgb) in enumerate(drawn):
            gif.seek(index)
            decoded = np.asarray(gif.convert("RGB"))
            assert (decoded == on_palette).all() and (decoded == rgb).all()


def test_a_still_trains_then_draws_once_with_the_real_epoch():
    trainer = Trainer({"dataset": "xor", "hidden": [4], "seed": 1})
    trainer.epoch = 40  # weights restored at epoch 40
    still = play(Film(trainer, Picture(size=96), StillWriter(), epochs=10))
    assert still.sink.frames == 1 and trainer.epoch == 50
    with Image.open(io.BytesIO(still.sink.png())) as png:
        assert png.size == (96, 96) and png.format == "PNG"


def test_a_diverging_run_ends_the_film_early_with_a_last_frame():
    trainer = Trainer(PRESETS["lr_too_high"].config)
    writer = GifWriter(io.BytesIO(), 64, 100, GifPalette(trainer.task, 2))
    film = play(Film(trainer, Picture(size=64), writer, epochs=200, frame_step=50))
    assert trainer.status == "diverged" and film.trained < 200
    assert film.sink.frames == gif_frame_count(film.trained, 50)  # epoch 0, every 50th, the last run


def test_frames_must_fit_the_gif():
    writer = GifWriter(io.BytesIO(), 64, 100, GifPalette("binary", 2))
    with pytest.raises(ValueError, match="frame"):
        writer.add(Image.new("P", (65, 64)))
    with pytest.raises(ValueError, match="frame"):
        writer.add(Image.new("RGB", (64, 64)))
