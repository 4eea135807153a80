"""Server-side pictures of a run, for scripts and for slides that cannot embed the page.

``render_png`` draws the output heatmap with the data on top, as the page does (the playground's
diverging orange–grey–blue scale, training points outlined white, test points black, NaN cells grey);
``render_gif`` trains a run and keeps one such picture every ``frame_step`` epochs, with the epoch and the
losses written in. Pure Pillow + NumPy: nothing here touches the event loop or the network.
"""

from __future__ import annotations

import io
from typing import Optional

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from nnplay.engine import Trainer

# TensorFlow Playground's colour scale: 31 shades from orange (−1) through grey (0) to blue (+1).
NEGATIVE, MIDDLE, POSITIVE = (0xF5, 0x93, 0x22), (0xE8, 0xEA, 0xEB), (0x08, 0x77, 0xBD)
SHADES = 31
NAN_GREY = (170, 170, 170)
# Okabe–Ito, a colour-blind-safe categorical palette, for multiclass data (class k → CLASS_COLOURS[k]).
CLASS_COLOURS = ((0xE6, 0x9F, 0x00), (0x56, 0xB4, 0xE9), (0x00, 0x9E, 0x73), (0xCC, 0x79, 0xA7),
                 (0xD5, 0x5E, 0x00), (0x00, 0x72, 0xB2))
BACKGROUND_ALPHA = 160 / 255  # the playground paints its heatmap at alpha 160 over white


def _scale() -> np.ndarray:
    """(31, 3) uint8: the playground's shades, linear from NEGATIVE to MIDDLE to POSITIVE."""
    t = np.linspace(-1, 1, SHADES)[:, None]
    low = np.asarray(MIDDLE) + (np.asarray(NEGATIVE) - np.asarray(MIDDLE)) * np.clip(-t, 0, 1)
    high = np.asarray(MIDDLE) + (np.asarray(POSITIVE) - np.asarray(MIDDLE)) * np.clip(t, 0, 1)
    return np.where(t < 0, low, high).round().astype(np.uint8)


PALETTE = _scale()


def colour_values(values: np.ndarray, discretize: bool = False) -> np.ndarray:
    """RGB for values in [−1, 1]: shade index clamp(⌊31(v + 1)/2⌋, 0, 30); NaN grey; discretize = sign."""
    v = np.sign(values) if discretize else values
    index = np.clip(np.floor(SHADES * (np.nan_to_num(v) + 1) / 2), 0, SHADES - 1).astype(int)
    rgb = PALETTE[index].astype(float)
    rgb = 255 - BACKGROUND_ALPHA * (255 - rgb)
    rgb[np.isnan(values)] = NAN_GREY
    return rgb.astype(np.uint8)


def colour_classes(classes: np.ndarray, confidence: np.ndarray, n_classes: int) -> np.ndarray:
    """RGB per cell: the class colour blended towards white as the winning probability falls to 1/k."""
    base = np.asarray(CLASS_COLOURS, dtype=float)[classes]
    strength = np.clip((confidence - 1 / n_classes) / (1 - 1 / n_classes), 0, 1)[..., None] * BACKGROUND_ALPHA
    return (255 - strength * (255 - base)).astype(np.uint8)


def _point_colour(trainer: Trainer, label: float) -> tuple[int, int, int]:
    if trainer.task == "multiclass":
        return CLASS_COLOURS[int(label) % len(CLASS_COLOURS)]
    return tuple(int(c) for c in PALETTE[int(np.clip(np.floor(SHADES * (np.clip(label, -1, 1) + 1) / 2), 0, 30))])


def _to_pixel(x: np.ndarray, size: int) -> np.ndarray:
    return (x + 6) / 12 * (size - 1)


def render_image(trainer: Trainer, size: int = 400, show_test: bool = True, discretize: bool = False,
                 caption: Optional[str] = None) -> Image.Image:
    """The output plot of ``trainer`` as a size × size RGB image (1-D data: the fitted curve)."""
    if not 64 <= size <= 2000:
        raise ValueError(f"size: must be between 64 and 2000 pixels, got {size}")
    density = min(200, max(10, size // 2))
    grid = trainer.grid(density=density, thumb=2)
    data = trainer.data
    if trainer.config.dims == 1:
        image = Image.new("RGB", (size, size), (255, 255, 255))
        draw = ImageDraw.Draw(image)
        _draw_curve(draw, trainer, grid.values, size)
    else:
        if grid.classes is not None:
            rgb = colour_classes(grid.classes, grid.values, trainer.config.n_classes)
        else:
            rgb = colour_values(grid.values, discretize)
        image = Image.fromarray(rgb, "RGB").resize((size, size), Image.NEAREST)
        draw = ImageDraw.Draw(image)
        sets = [(data.x_train, data.y_train, (255, 255, 255))]
        if show_test:
            sets.append((data.x_test, data.y_test, (0, 0, 0)))
        radius = max(2, size // 130)
        for points, labels, outline in sets:
            px, py = _to_pixel(points[:, 0], size), _to_pixel(-points[:, 1], size)
            for x, y, label in zip(px, py, labels):
                draw.ellipse((x - radius, y - radius, x + radius, y + radius),
                             fill=_point_colour(trainer, label), outline=outline)
    if caption:
        draw.rectangle((0, 0, size, 16), fill=(255, 255, 255))
        draw.text((4, 2), caption, fill=(0, 0, 0), font=ImageFont.load_default())
    return image


def _draw_curve(draw: ImageDraw.ImageDraw, trainer: Trainer, curve: np.ndarray, size: int) -> None:
    data = trainer.data
    ys = np.concatenate([data.y_train, data.y_test, curve[np.isfinite(curve)]])
    lo, hi = float(ys.min()), float(ys.max())
    pad = (hi - lo) * 0.1 or 1.0
    lo, hi = lo - pad, hi + pad

    margin = 8  # keep the end points whole

    def pixel(x, y):
        return (margin + (np.asarray(x) + 6) / 12 * (size - 1 - 2 * margin),
                margin + (hi - np.asarray(y)) / (hi - lo) * (size - 1 - 2 * margin))

    xs, py = pixel(np.linspace(-6, 6, len(curve)), np.nan_to_num(curve, nan=lo))
    draw.line(list(zip(xs.tolist(), py.tolist())), fill=POSITIVE, width=2)
    for points, labels, outline in ((data.x_train, data.y_train, (120, 120, 120)), (data.x_test, data.y_test, (0, 0, 0))):
        qx, qy = pixel(points[:, 0], labels)
        for x, y in zip(qx, qy):
            draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill=NEGATIVE, outline=outline)


def caption_for(trainer: Trainer) -> str:
    last = trainer.history[-1] if trainer.history else trainer.report()
    fmt = lambda v: "—" if v is None else f"{v:.3f}"  # noqa: E731
    return f"epoch {trainer.epoch:,}  train {fmt(last.train_loss)}  test {fmt(last.test_loss)}"


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def render_png(trainer: Trainer, size: int = 400, show_test: bool = True, discretize: bool = False,
               caption: bool = True) -> bytes:
    """PNG bytes of the current output plot."""
    text = caption_for(trainer) if caption else None
    return png_bytes(render_image(trainer, size, show_test, discretize, text))


def render_gif(trainer: Trainer, epochs: int, frame_step: int = 10, size: int = 300, frame_ms: int = 100,
               show_test: bool = True, max_frames: int = 300) -> tuple[bytes, int]:
    """Train ``epochs`` epochs and return (animated GIF bytes, frame count): epoch 0, then every
    ``frame_step`` epochs, and the last epoch, each with the epoch and losses written in."""
    if frame_step < 1:
        raise ValueError(f"frame_step: must be at least 1, got {frame_step}")
    frames_needed = gif_frame_count(epochs, frame_step)
    if frames_needed > max_frames:
        raise ValueError(f"frames: epochs / frame_step gives {frames_needed} frames; at most {max_frames}")
    frames = [render_image(trainer, size, show_test, caption=caption_for(trainer))]
    done = 0
    while done < epochs:
        chunk = min(frame_step, epochs - done)
        reports = trainer.train(chunk)
        done += chunk
        frames.append(render_image(trainer, size, show_test, caption=caption_for(trainer)))
        if reports and reports[-1].status != "ok":
            break
    return encode_gif(frames, frame_ms), len(frames)


def gif_frame_count(epochs: int, frame_step: int) -> int:
    """Frames of a GIF of ``epochs`` epochs: epoch 0, every ``frame_step``-th epoch, and the last."""
    return epochs // frame_step + 1 + (1 if epochs % frame_step else 0)


def encode_gif(frames: list[Image.Image], frame_ms: int) -> bytes:
    """An animated GIF that loops forever, ``frame_ms`` milliseconds a frame."""
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=frame_ms, loop=0,
                   optimize=False, disposal=1)
    return buffer.getvalue()
