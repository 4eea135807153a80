"""An animated GIF of a comparison: the variants' runs side by side, as the compare page shows them.

A :class:`Mosaic` plays one :class:`~server.jobs.pictures.Film` per variant in step (the same epochs and
frame step, so their pictures are due together) and writes one GIF frame each time every unfinished film
has drawn its next picture: the variants' latest plots in a grid of ``columns`` (2 × 2 for four), each under
its label and test loss, with the epoch in a caption along the top. A variant that stops early (diverged,
early stopping) keeps its last picture while the others go on.
"""

from __future__ import annotations

import time
from typing import Callable, Optional

from PIL import Image, ImageDraw

from nnplay.engine import Trainer

from .pictures import BLACK, WHITE, Film, GifPalette, GifWriter, Inks, Picture, StillWriter, caption_font

GAP = 6  # pixels between tiles and round the edge


def mosaic_columns(variants: int) -> int:
    """Tiles per row: two or three in a row, four as 2 × 2 (never 3 + 1), as the compare page."""
    return 2 if variants == 4 else variants


class LastPicture(StillWriter):
    """A film's sink that keeps only its newest picture, drawn on the mosaic's palette."""

    def __init__(self, palette: GifPalette):
        super().__init__()
        self.palette = palette


class Layout:
    """Where the tiles of ``variants`` plots go in a GIF ``width`` pixels wide."""

    def __init__(self, variants: int, width: int):
        self.columns = mosaic_columns(variants)
        self.rows = -(-variants // self.columns)
        self.width = width
        self.tile = (width - GAP * (self.columns + 1)) // self.columns
        self.title = int(caption_font("Ag", self.tile).getbbox("Ag")[3]) + 6  # a tile's title band
        self.caption = int(caption_font("Ag", width).getbbox("Ag")[3]) + 6
        self.height = self.caption + GAP + self.rows * (self.title + self.tile + GAP)

    def corner(self, i: int) -> tuple[int, int]:
        """The top-left corner of tile ``i``'s title band."""
        row, column = divmod(i, self.columns)
        return GAP + column * (self.tile + GAP), self.caption + GAP + row * (self.title + self.tile + GAP)


class Mosaic:
    """The films of a comparison's trainers written into ``writer`` as one GIF (see the module's docstring);
    ``advance`` works as :meth:`Film.advance`, so :func:`~server.jobs.render_slots.run_film` plays it."""

    def __init__(self, trainers: list[Trainer], labels: list[str], picture: Picture, epochs: int, frame_step: int,
                 writer: GifWriter, layout: Layout):
        tile = Picture(layout.tile, picture.density, picture.show_test, picture.discretize, caption=False)
        self.pictures = [LastPicture(writer.palette) for _ in trainers]
        self.films = [Film(t, tile, last, epochs, frame_step) for t, last in zip(trainers, self.pictures, strict=True)]
        self.labels = labels
        self.writer = writer
        self.layout = layout
        self.ink = Inks(writer.palette)
        self.finished = False

    def __repr__(self) -> str:
        return f"Mosaic({len(self.films)} films, frames={self.writer.frames}, finished={self.finished})"

    @property
    def sink(self) -> GifWriter:
        return self.writer

    def step(self) -> None:
        """One GIF frame: every unfinished film runs until it has drawn its next picture."""
        for film in self.films:
            drawn = film.sink.frames
            while not film.finished and film.sink.frames == drawn:
                film.step()
        self.writer.add(self._compose())
        if all(film.finished for film in self.films):
            self.writer.close()
            self.finished = True

    def advance(self, turn_over: Callable[[float], bool]) -> bool:
        """Work until ``turn_over(seconds elapsed)`` says stop (after one frame at least); True when finished."""
        start = time.perf_counter()
        while not self.finished:
            self.step()
            if turn_over(time.perf_counter() - start):
                break
        return self.finished

    def _compose(self) -> Image.Image:
        layout, ink = self.layout, self.ink
        image = ink.blank(layout.width, WHITE, layout.height)
        draw = ImageDraw.Draw(image)
        epoch = max(film.trainer.epoch for film in self.films)
        caption = f"epoch {epoch:,}"
        draw.text((GAP, 3), caption, fill=ink(BLACK), font=caption_font(caption, layout.width))
        for i, (film, last_picture, label) in enumerate(zip(self.films, self.pictures, self.labels, strict=True)):
            x, y = layout.corner(i)
            last = film.trainer.history[-1] if film.trainer.history else None
            loss = "" if last is None or last.test_loss is None else f"  test {last.test_loss:.3f}"
            title = f"{label}{loss}"
            draw.text((x, y + 2), title, fill=ink(BLACK), font=caption_font(title, layout.tile))
            assert last_picture.image is not None  # step() ran every film to its first picture
            image.paste(last_picture.image, (x, y + layout.title))
        return image
