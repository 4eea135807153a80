"""Server-side pictures of a run, for scripts and for slides that cannot embed the page.

A :class:`Picture` draws the output plot as the page does, from the same palette and geometry
(``server/options.py``'s ``PALETTE`` and ``view``, which ``/api/options`` sends to the page): the heatmap on
the diverging scale (multiclass: each class's colour blended from the neutral grey), training points
outlined white, test points black, NaN cells grey, and a caption with the epoch and the losses.

A :class:`Film` trains a run a turn of the engine pool at a time (:meth:`Film.advance`) and hands a
picture to its sink whenever one is due: a :class:`GifWriter` (the start, every ``frame_step`` epochs and
the end, each frame encoded and written out as soon as it is drawn, so memory does not grow with the
number of frames) or a :class:`StillWriter` (the end only, as PNG). Pure Pillow + NumPy: nothing here
touches the event loop; ``server/routes/lessons.py`` runs films in the engine pool.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from typing import BinaryIO, Callable, Optional, Protocol

import numpy as np
from PIL import GifImagePlugin, Image, ImageDraw, ImageFont

from nnplay.engine import Trainer
from nnplay.engine.features import GRID_EXTENT

from ..options import DEFAULT_DENSITY, PALETTE

EXTENT = GRID_EXTENT  # the engine owns the input domain; /api/options sends it to the page as view.extent
SHADES = PALETTE["shades"]
BAND_PIXELS = 1 << 17  # pixels of a heatmap coloured at once (see band_rows)
ALPHA = PALETTE["heatmap_alpha"] / 255
MIN_CAPTION_PX = 14  # the smallest caption font: legible on a 300-pixel GIF shown on a slide


def rgb(hex_colour: str) -> np.ndarray:
    """'#rrggbb' as an int array [r, g, b]."""
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])


def _scale() -> np.ndarray:
    """(shades, 3) uint8: the diverging scale, linear from −1 to 0 to +1 with rounding, as colors.js."""
    low, middle, high = (rgb(c) for c in PALETTE["diverging"])
    a = np.linspace(0, 1, SHADES)[:, None]
    first = low + (middle - low) * (a / 0.5)
    second = middle + (high - middle) * ((a - 0.5) / 0.5)
    return np.floor(np.where(a <= 0.5, first, second) + 0.5).astype(np.uint8)


SCALE = _scale()
NAN = rgb(PALETTE["nan"]).astype(np.uint8)
NEUTRAL = rgb(PALETTE["diverging"][1])
CLASSES = np.array([rgb(c) for c in PALETTE["classes"]])
WHITE, BLACK = (255, 255, 255), (0, 0, 0)


def over_white(colours: np.ndarray) -> np.ndarray:
    """Colours painted at the heatmap alpha over white, as opaque uint8: 255 + (c − 255)·α, rounded."""
    return np.floor(255 + (np.asarray(colours, dtype=float) - 255) * ALPHA + 0.5).astype(np.uint8)


def shade_index(values: np.ndarray) -> np.ndarray:
    """Index on the diverging scale: clamp(⌊shades (v + 1) / 2⌋, 0, shades − 1) (NaN gives 0)."""
    return np.clip(np.floor(SHADES * (np.nan_to_num(values) + 1) / 2), 0, SHADES - 1).astype(int)


def colour_values(values: np.ndarray, discretize: bool = False) -> np.ndarray:
    """Heatmap RGB of values on the diverging scale (discretize: by sign), NaN grey. In float64, as the
    page's JavaScript, so that a value on a shade's boundary lands on the same side."""
    values = np.asarray(values, dtype=np.float64)
    v = np.sign(values) if discretize else values
    out = over_white(SCALE)[shade_index(v)]
    out[np.isnan(values)] = NAN
    return out


def blend_weight(confidence: np.ndarray, n_classes: int, discretize: bool = False) -> np.ndarray:
    """How far a multiclass cell is from the neutral grey: t = clamp((p − 1/k) / (1 − 1/k), 0, 1) for the
    winning probability p (discretize: 1); NaN gives 0."""
    confidence = np.asarray(confidence, dtype=np.float64)  # as the page's JavaScript
    if discretize:
        return np.ones_like(confidence)
    return np.nan_to_num(np.clip((confidence - 1 / n_classes) / (1 - 1 / n_classes), 0, 1))


def colour_classes(classes: np.ndarray, confidence: np.ndarray, n_classes: int,
                   discretize: bool = False) -> np.ndarray:
    """Heatmap RGB per cell: the winning class's colour blended from the neutral grey (p = 1/k) to full
    (p = 1) by :func:`blend_weight`; NaN grey."""
    full = CLASSES[classes % len(CLASSES)]
    out = over_white(NEUTRAL + (full - NEUTRAL) * blend_weight(confidence, n_classes, discretize)[..., None])
    out[np.isnan(confidence)] = NAN
    return out


def point_colours(labels: np.ndarray, task: str) -> np.ndarray:
    """(n, 3) uint8 fills of data points: multiclass from the class palette, otherwise each label on the
    diverging scale (unfaded)."""
    labels = np.asarray(labels, dtype=np.float64)
    if task == "multiclass":
        return CLASSES[np.rint(labels).astype(int) % len(CLASSES)].astype(np.uint8)
    return SCALE[shade_index(labels)]


def band_rows(size: int) -> int:
    """Rows of a size-pixel picture drawn at once: about :data:`BAND_PIXELS` pixels, so that the float
    arrays of a band stay a few MB whatever the size."""
    return max(1, BAND_PIXELS // size)


def upscale(grid: np.ndarray, size: int, rows: slice = slice(None)) -> np.ndarray:
    """A (d, d) float32 grid bilinearly resampled to (size, size), as a browser scales the page's d × d
    canvas up: pixel x samples the grid at u = (x + ½)·d/size − ½ (clamped to the outer cells). Where d
    divides size with an odd quotient, the middle pixel of each cell has the cell's value exactly.
    ``rows``: only those rows of the result (each row is computed alone, so a band equals that slice of
    the whole)."""
    d = grid.shape[-1]
    u = np.clip((np.arange(size) + 0.5) * d / size - 0.5, 0, d - 1)
    low = np.floor(u).astype(int)
    high = np.minimum(low + 1, d - 1)
    w = (u - low).astype(np.float32)
    band = grid[low[rows], :] * (1 - w[rows])[:, None] + grid[high[rows], :] * w[rows][:, None]
    return band[:, low] * (1 - w) + band[:, high] * w


def upscale_winner(probabilities: np.ndarray, size: int, rows: slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:
    """The winning class and its probability per pixel of the (k, d, d) float32 class probabilities
    upscaled to size × size (``rows``: those rows only), one class at a time (a few arrays of the band's
    size whatever k is); NaN where any class is NaN."""
    shape = (len(range(size)[rows]), size)
    confidence = np.full(shape, -np.inf, np.float32)
    classes = np.zeros(shape, np.uint8)
    missing = np.zeros(shape, bool)
    for k, grid in enumerate(probabilities):
        scaled = upscale(grid, size, rows)
        missing |= np.isnan(scaled)
        better = scaled > confidence
        confidence[better] = scaled[better]
        classes[better] = k
    confidence[missing] = np.nan
    return classes, confidence


class GifPalette:
    """The fixed 256 colours every frame of one GIF is drawn with (so nothing flickers between frames), and
    where each heatmap colour sits among them: white, black, the grey NaN and the 1-D view's colours; then
    for multiclass each class colour at ``levels`` blend levels and full, otherwise the diverging scale
    faded and full; the rest a ramp of greys."""

    def __init__(self, task: str, n_classes: int):
        fixed = [rgb("#ffffff"), rgb("#000000"), NAN, *(rgb(c) for c in PALETTE["curve"].values())]
        self.nan, self.heat = 2, len(fixed)  # indices of the grey NaN and of the first heatmap colour
        self.multiclass = task == "multiclass"
        if self.multiclass:
            full = CLASSES[np.arange(n_classes) % len(CLASSES)]
            self.levels = (256 - len(fixed) - n_classes) // n_classes
            t = np.linspace(0, 1, self.levels)[None, :, None]
            heat = [over_white(NEUTRAL + (full[:, None] - NEUTRAL) * t).reshape(-1, 3), full]
        else:
            heat = [over_white(SCALE), SCALE]
        colours = np.concatenate([np.array(fixed), *heat]).astype(np.uint8)
        greys = np.repeat(np.linspace(0, 255, 256 - len(colours)).round()[:, None], 3, axis=1)
        self.colours = np.concatenate([colours, greys.astype(np.uint8)])
        self._nearest: dict[tuple, int] = {}

    def __repr__(self) -> str:
        return f"GifPalette({'multiclass, ' + str(self.levels) + ' levels' if self.multiclass else 'diverging'})"

    def index(self, colour: tuple[int, int, int]) -> int:
        """The entry nearest to an RGB colour (exact when the palette holds it); remembered per colour."""
        if colour not in self._nearest:
            distance = ((self.colours.astype(int) - np.asarray(colour)) ** 2).sum(axis=1)
            self._nearest[colour] = int(distance.argmin())
        return self._nearest[colour]

    def values(self, values: np.ndarray, discretize: bool = False) -> np.ndarray:
        """Indices of the faded shades :func:`colour_values` gives (NaN: the grey)."""
        v = np.sign(values) if discretize else values
        return np.where(np.isnan(values), self.nan, self.heat + shade_index(v)).astype(np.uint8)

    def classes(self, classes: np.ndarray, confidence: np.ndarray, n_classes: int,
                discretize: bool = False) -> np.ndarray:
        """Indices of :func:`colour_classes`' blends, t rounded to the nearest of ``levels`` levels."""
        level = np.rint(blend_weight(confidence, n_classes, discretize) * (self.levels - 1)).astype(int)
        return np.where(np.isnan(confidence), self.nan, self.heat + classes * self.levels + level).astype(np.uint8)


class Inks:
    """Colours as a picture is drawn with them: RGB (a PNG), or entries of a :class:`GifPalette` (a GIF
    frame, a "P" image)."""

    def __init__(self, palette: Optional[GifPalette] = None):
        self.palette = palette
        self.mode = "RGB" if palette is None else "P"

    def __call__(self, colour) -> tuple[int, int, int] | int:
        value = tuple(int(c) for c in (rgb(colour) if isinstance(colour, str) else colour))
        return value if self.palette is None else self.palette.index(value)

    def each(self, colours: np.ndarray) -> list:
        """Inks of an (n, 3) array of colours, each distinct colour converted once."""
        distinct, inverse = np.unique(colours, axis=0, return_inverse=True)
        inks = [self(tuple(colour)) for colour in distinct.tolist()]
        return [inks[i] for i in inverse.reshape(-1).tolist()]

    def pixels(self, size: int) -> np.ndarray:
        """An uninitialised size × size uint8 canvas: (size, size, 3) RGB or (size, size) palette indices."""
        return np.empty((size, size, 3) if self.palette is None else (size, size), np.uint8)

    def values(self, values: np.ndarray, discretize: bool) -> np.ndarray:
        """Pixels of heatmap values (:func:`colour_values`, or their palette entries)."""
        if self.palette is None:
            return colour_values(values, discretize)
        return self.palette.values(values, discretize)

    def classes(self, classes: np.ndarray, confidence: np.ndarray, n_classes: int, discretize: bool) -> np.ndarray:
        """Pixels of multiclass cells (:func:`colour_classes`, or their palette entries)."""
        if self.palette is None:
            return colour_classes(classes, confidence, n_classes, discretize)
        return self.palette.classes(classes, confidence, n_classes, discretize)

    def image(self, pixels: np.ndarray) -> Image.Image:
        return self._on_palette(Image.fromarray(pixels, self.mode))

    def blank(self, size: int, colour, height: Optional[int] = None) -> Image.Image:
        return self._on_palette(Image.new(self.mode, (size, height or size), self(colour)))

    def _on_palette(self, image: Image.Image) -> Image.Image:
        if self.palette is not None:
            image.putpalette(self.palette.colours.reshape(-1).tolist())
        return image


@dataclass(frozen=True)
class Picture:
    """How to draw a run: ``size`` pixels square, the output evaluated on a ``density``² grid (the page's
    own density by default) and scaled up smoothly, as the page's canvas is."""

    size: int = 400
    density: int = DEFAULT_DENSITY
    show_test: bool = True
    discretize: bool = False
    caption: bool = True

    def image(self, trainer: Trainer, palette: Optional[GifPalette] = None) -> Image.Image:
        """The output plot of ``trainer`` now: an RGB image, or a "P" image on ``palette`` (a GIF frame)."""
        ink = Inks(palette)
        grid = trainer.grid(density=self.density, thumb=2)
        if trainer.config.dims == 1:
            image = self._curve(trainer, grid.values, ink)
        else:
            image = self._heatmap(trainer, grid, ink)
        if self.caption:
            self._caption(ImageDraw.Draw(image), caption_for(trainer), ink)
        return image

    def _heatmap(self, trainer: Trainer, grid, ink: Inks) -> Image.Image:
        """The grid scaled up smoothly (in value space, so each pixel gets a colour of the scale) and the
        points on top."""
        image = self._coloured(grid, ink, trainer.config.n_classes)
        draw = ImageDraw.Draw(image)
        scale = self.size / (2 * EXTENT)
        radius = max(3.0, self.size / 87)  # the page: 3 px on its 260 px plot
        for points, labels, outline in self._point_sets(trainer):
            xs, ys = (points[:, 0] + EXTENT) * scale, (EXTENT - points[:, 1]) * scale
            fills, line = ink.each(point_colours(labels, trainer.task)), ink(outline)
            for x, y, fill in zip(xs.tolist(), ys.tolist(), fills):
                draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill, outline=line)
        return image

    def _coloured(self, grid, ink: Inks, n_classes: int) -> Image.Image:
        """The heatmap, coloured a band of rows at a time into one uint8 canvas: the float arrays of the
        upscaling and the blending never cover more than a band (docs/decisions.md, "Pictures drawn in
        bands")."""
        size, pixels = self.size, ink.pixels(self.size)
        probabilities = None if grid.probabilities is None else grid.probabilities.astype(np.float32)
        values = grid.values.astype(np.float32) if probabilities is None else None
        step = band_rows(size)
        for start in range(0, size, step):
            rows = slice(start, min(start + step, size))
            if probabilities is not None:
                classes, confidence = upscale_winner(probabilities, size, rows)
                pixels[rows] = ink.classes(classes, confidence, n_classes, self.discretize)
            else:
                pixels[rows] = ink.values(upscale(values, size, rows), self.discretize)
        return ink.image(pixels)

    def _point_sets(self, trainer: Trainer):
        data = trainer.data
        sets = [(data.x_train, data.y_train, PALETTE["train_outline"])]
        if self.show_test:
            sets.append((data.x_test, data.y_test, PALETTE["test_outline"]))
        return sets

    def _curve(self, trainer: Trainer, curve: np.ndarray, ink: Inks) -> Image.Image:
        """The 1-D view, as the page's drawCurve: the fitted curve over x1 and the points at (x1, label)."""
        colours = PALETTE["curve"]
        size = self.size
        image = ink.blank(size, colours["background"])
        draw = ImageDraw.Draw(image)
        data = trainer.data
        ys = np.concatenate([data.y_train, data.y_test, curve[np.isfinite(curve)]])
        lo, hi = float(ys.min()), float(ys.max())
        if hi - lo < 1e-9:
            lo, hi = lo - 1, hi + 1
        lo, hi = lo - (hi - lo) * 0.1, hi + (hi - lo) * 0.1

        def y_pixel(value):
            return size - (np.asarray(value) - lo) / (hi - lo) * size

        if lo < 0 < hi:
            draw.line([(0, y_pixel(0)), (size, y_pixel(0))], fill=ink(colours["zero"]))
        xs = (np.arange(len(curve)) + 0.5) / len(curve) * size
        finite = np.isfinite(curve)
        draw.line(list(zip(xs[finite].tolist(), y_pixel(curve[finite]).tolist())), fill=ink(colours["line"]),
                  width=max(2, size // 130))
        radius = max(4.0, size / 65)  # the page: 4 px on 260
        for points, labels, outline in self._point_sets(trainer):
            for x, y in zip((points[:, 0] + EXTENT) * size / (2 * EXTENT), y_pixel(labels)):
                draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=ink(colours["points"]),
                             outline=ink(outline))
        return image

    def _caption(self, draw: ImageDraw.ImageDraw, text: str, ink: Inks) -> None:
        """The caption on a white band along the top (:func:`caption_font`)."""
        font = caption_font(text, self.size)
        height = font.getbbox("Ag")[3] + 6
        draw.rectangle((0, 0, self.size, height), fill=ink(WHITE))
        draw.text((4, 3), text, fill=ink(BLACK), font=font)


def caption_font(text: str, width: int) -> ImageFont.FreeTypeFont:
    """A font for ``text`` along a picture ``width`` pixels wide that reads on a projector: a twentieth of the
    width (at least :data:`MIN_CAPTION_PX`), smaller only as far as the whole text needs to fit."""
    size = max(MIN_CAPTION_PX, width // 20)
    font = ImageFont.load_default(size=size)
    while size > MIN_CAPTION_PX // 2 and font.getlength(text) > width - 8:
        size -= 1
        font = ImageFont.load_default(size=size)
    return font


def caption_for(trainer: Trainer) -> str:
    """'epoch 1,200  train 0.123  test 0.145': the run's real epoch and its last losses."""
    last = trainer.history[-1] if trainer.history else trainer.report(gradients=False)
    fmt = lambda v: "—" if v is None else f"{v:.3f}"  # noqa: E731
    return f"epoch {trainer.epoch:,}  train {fmt(last.train_loss)}  test {fmt(last.test_loss)}"


class Sink(Protocol):
    palette: Optional[GifPalette]  # the colours pictures must be drawn with, or None for RGB
    frames: int

    def add(self, image: Image.Image) -> None: ...

    def close(self) -> None: ...


class GifWriter:
    """An animated GIF that loops forever, written into ``out`` a frame at a time: each frame, drawn on
    ``palette`` (the GIF's global colour table), is LZW-encoded by Pillow, written
    and dropped."""

    def __init__(self, out: BinaryIO, size: int, frame_ms: int, palette: GifPalette, height: Optional[int] = None):
        self.out = out
        self.size = (size, height or size)  # width, height
        self.frame_ms = frame_ms
        self.palette = palette
        self.frames = 0
        header, _ = GifImagePlugin.getheader(Inks(palette).blank(self.size[0], WHITE, self.size[1]), None, {"loop": 0})
        out.writelines(header)

    def add(self, image: Image.Image) -> None:
        """Encode and write one frame: a "P" image of this GIF's size on its palette."""
        if image.size != self.size or image.mode != "P":
            raise ValueError(f"frame: a {image.mode} image of {image.size} pixels; this GIF takes P images of "
                             f"{self.size[0]}×{self.size[1]} on its palette")
        self.out.writelines(GifImagePlugin.getdata(image, duration=self.frame_ms, disposal=1))
        self.frames += 1

    def close(self) -> None:
        self.out.write(b";")  # the GIF trailer


class StillWriter:
    """Keeps the last picture (RGB: ``palette`` is None); :meth:`png` encodes it."""

    palette: Optional[GifPalette] = None

    def __init__(self):
        self.image: Optional[Image.Image] = None
        self.frames = 0

    def add(self, image: Image.Image) -> None:
        self.image = image
        self.frames += 1

    def close(self) -> None:
        pass

    def png(self) -> bytes:
        buffer = io.BytesIO()
        self.image.save(buffer, format="PNG", optimize=True)
        return buffer.getvalue()


class Film:
    """Trains ``trainer`` for ``epochs`` epochs (stopping early on divergence or early stopping, as
    ``Trainer.train``) and gives ``sink`` a picture at the start, every ``frame_step`` epochs and at the
    end; ``frame_step=None`` gives only the picture at the end (a still)."""

    def __init__(self, trainer: Trainer, picture: Picture, sink: Sink, epochs: int,
                 frame_step: Optional[int] = None):
        if frame_step is not None and frame_step < 1:
            raise ValueError(f"frame_step: must be at least 1, got {frame_step}")
        self.trainer = trainer
        self.picture = picture
        self.sink = sink
        self.epochs = epochs
        self.frame_step = frame_step
        self.trained = 0
        self.stopped = False  # diverged or stopped early
        self.drawn_at: Optional[int] = None  # epochs trained when the last picture was drawn
        self.finished = False

    def __repr__(self) -> str:
        return f"Film(epochs {self.trained}/{self.epochs}, frames={self.sink.frames}, finished={self.finished})"

    def _ended(self) -> bool:
        return self.trained >= self.epochs or self.stopped

    def _picture_due(self) -> bool:
        if self.drawn_at == self.trained:
            return False
        if self._ended():
            return True
        if self.frame_step is None:
            return False
        return self.drawn_at is None or self.trained - self.drawn_at >= self.frame_step

    def step(self) -> None:
        """One unit of work: a picture if one is due, otherwise one epoch."""
        if self._picture_due():
            self.sink.add(self.picture.image(self.trainer, self.sink.palette))
            self.drawn_at = self.trained
            if self._ended():
                self.sink.close()
                self.finished = True
        else:
            report = self.trainer.step_epoch(gradients=False)
            self.trained += 1
            self.stopped = report.status != "ok"

    def advance(self, turn_over: Callable[[float], bool]) -> bool:
        """Work until ``turn_over(seconds elapsed)`` says stop (after one unit at least); True when finished."""
        start = time.perf_counter()
        while not self.finished:
            self.step()
            if turn_over(time.perf_counter() - start):
                break
        return self.finished


def gif_frame_count(epochs: int, frame_step: int) -> int:
    """Frames of a GIF of ``epochs`` epochs: epoch 0, every ``frame_step``-th epoch, and the last."""
    return epochs // frame_step + 1 + (1 if epochs % frame_step else 0)
