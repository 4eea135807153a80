"""Every choice the page offers, generated from the engine's registries (never a second hand-typed list).

:func:`build_options` returns the body of ``GET /api/options``; ``nnplay options`` prints the same thing.
The two ``menus`` (the playground's learning-rate and regularisation-rate drop-downs) are the only UI-only
lists: the engine accepts any value in range, the page offers these.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnplay.engine import (
    ACTIVATIONS, DATASETS, FEATURES, INITIALIZERS, LIVE_FIELDS, LOSSES, OPTIMIZERS, REGULARIZERS, SCHEDULES, Config,
    __version__,
)
from nnplay.engine.compare import MAX_VARIANTS, MIN_VARIANTS
from nnplay.engine.features import GRID_EXTENT, feature_matrix, resolve_feature
from nnplay.engine.formulas import CONSTANTS, FUNCTIONS, OPERATORS, VARIABLES, FormulaError, FormulaValueError
from nnplay.engine.losses import LOSS_LABELS, OUTPUT_UNITS
from nnplay.engine.normalization import LABELS as NORMALIZATION_LABELS
from nnplay.engine.probes import thumbnail_points

from .problems import InvalidInput, problem
from .settings import Settings

MENUS = {
    "learning_rate": [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10],
    "reg_rate": [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10],
}

# The session's own limits (docs/protocol.md): speed in epochs/s, frames/s, grid and thumbnail sizes, step n.
# The default pace is TensorFlow Playground's: one epoch per animation frame, 60 epochs/s on a 60 Hz screen.
MIN_SPEED, MAX_SPEED, DEFAULT_SPEED = 1, 1000, 60
MIN_FPS, MAX_FPS, DEFAULT_FPS = 1, 60, 30
MIN_THUMB, MAX_THUMB, DEFAULT_THUMB = 2, 50, 10
DEFAULT_DENSITY = 100
MAX_STEP = 1000

# The colours and geometry of every picture of a run, sent as "palette" and "plot": the page (frontend/js/
# colors.js, which also sets the CSS properties --ink, --negative and --positive; output-heatmap.js) and the
# server's renderer (server/jobs/pictures.py) both draw from these, so a server PNG shows what the page shows.
# The diverging scale is TensorFlow Playground's: `shades` colours from diverging[0] (−1) through
# diverging[1] (0) to diverging[2] (+1), index clamp(⌊shades (v + 1) / 2⌋, 0, shades − 1); heatmaps are
# painted at heatmap_alpha / 255 over white. A multiclass cell blends from diverging[1] (chance, p = 1/k) to
# classes[c] (certain), t = clamp((p − 1/k) / (1 − 1/k), 0, 1).
PALETTE = {
    "diverging": ["#f59322", "#e8eaeb", "#0877bd"],
    "shades": 31,
    "heatmap_alpha": 160,
    "nan": "#aaaaaa",
    # Okabe & Ito's colour-blind-safe palette (yellow left out: invisible on white), class k -> classes[k]
    "classes": ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#d55e00", "#56b4e9"],
    "train_outline": "#ffffff",
    "test_outline": "#000000",
    # the 1-D view (regression on x1): the fitted curve over the points
    "curve": {"background": "#f7f7f7", "line": "#f59322", "points": "#0877bd", "zero": "#cccccc"},
    # the playground's dark blue-grey: the page's header, buttons and captions, and the ring round a marked point
    "ink": "#183d4e",
}


GIF_SIZES = (300, 600, 900)  # the GIF widths the page offers (those up to the max_gif_size setting)


def gif_sizes(settings: Settings) -> list[int]:
    """The GIF widths the page offers: those of :data:`GIF_SIZES` the server draws (max_gif_size)."""
    return [size for size in GIF_SIZES if size <= settings.max_gif_size] or [settings.max_gif_size]


def server_limits(settings: Settings) -> dict[str, Any]:
    """Limits of the server itself (the engine's limits are in ``limits``)."""
    return {
        "max_epochs": settings.max_epochs,
        "max_sessions": settings.max_sessions,
        "max_sessions_per_address": settings.max_sessions_per_address,
        "max_message_bytes": settings.max_message_bytes,
        "max_queued_bytes": settings.max_queued_bytes,
        "send_timeout": settings.send_timeout,
        "max_body_bytes": settings.max_body_bytes,
        "max_background_runs": settings.max_background_runs,
        "max_sweep_runs": settings.max_sweep_runs,
        "max_sweep_model_epochs": settings.max_sweep_model_epochs,
        "max_running_sweeps": settings.max_running_sweeps,
        "sweep_page": settings.sweep_page,
        "max_sweep_page": settings.max_sweep_page,
        "max_renders": settings.max_renders,
        "max_gif_frames": settings.max_gif_frames,
        "max_gif_size": settings.max_gif_size,
        "max_setup_bytes": settings.max_setup_bytes,
        "max_network_bytes": settings.max_network_bytes,
        "idle_timeout": settings.idle_timeout,
        "min_speed": MIN_SPEED,
        "max_speed": MAX_SPEED,
        "min_fps": MIN_FPS,
        "max_fps": MAX_FPS,
        "min_thumb": MIN_THUMB,
        "max_thumb": MAX_THUMB,
        "max_step": MAX_STEP,
        "max_rooms": settings.max_rooms,
        "max_room_students": settings.max_room_students,
        "room_join_rate": settings.room_join_rate,
        "room_idle_timeout": settings.room_idle_timeout,
        "room_challenge_length": settings.room_challenge_length,
        "room_nickname_length": settings.room_nickname_length,
        "room_tile_size": settings.room_tile_size,
        "room_tile_rate": settings.room_tile_rate,
    }


def view_defaults() -> dict[str, Any]:
    """What a new session shows and paces at (the page's defaults for its view keys), and the shape of the
    input domain: the page reads these instead of writing its own copies."""
    return {"speed": DEFAULT_SPEED, "fps": DEFAULT_FPS, "density": DEFAULT_DENSITY, "thumb": DEFAULT_THUMB,
            "feature_thumb": DEFAULT_THUMB, "extent": GRID_EXTENT,
            "min_variants": MIN_VARIANTS, "max_variants": MAX_VARIANTS}


def config_fields() -> dict[str, dict[str, Any]]:
    """Each Config field's JSON schema (default, minimum, maximum, enum, description, type ...)."""
    return Config.model_json_schema()["properties"]


def feature_thumbnails() -> list[list[float]]:
    """Each feature's values at the centres of a thumbnail-sized tiling of [−6, 6]² (row 0 at x2 = +6),
    computed by the engine, so the page draws feature nodes without a second copy of the formulas."""
    points = thumbnail_points(DEFAULT_THUMB)
    values = feature_matrix(np, points, list(FEATURES), np.float64, ones_column=False)
    return [[round(float(v), 4) for v in column] for column in values.T]


def formula_grammar() -> dict[str, Any]:
    """What a feature formula may use (engine/formulas.py), for the page's hint and the docs."""
    return {"variables": list(VARIABLES), "constants": list(CONSTANTS), "operators": list(OPERATORS),
            "functions": [{"name": name, "arity": arity} for name, (arity, _) in FUNCTIONS.items()],
            "example": "sqrt(x1^2 + x2^2)"}


def feature_option(text: str, max_length: int) -> dict[str, Any]:
    """The page's description of one feature, a registry name or a formula (``POST /api/feature``): name,
    label, dims and thumbnail, as in ``options["features"]``. A formula too long, that does not parse or that
    is not finite on the thumbnail's points is :class:`InvalidInput` naming the formula and the column."""
    text = text.strip()
    if len(text) > max_length:
        raise InvalidInput.single("formula", text, f"formula: at most {max_length} characters, got {len(text)}",
                                  f"up to {max_length} characters")
    try:
        feature = resolve_feature(text)
        values = feature_matrix(np, thumbnail_points(DEFAULT_THUMB), [text], np.float32, ones_column=False)
    except FormulaError as exc:
        raise InvalidInput([_formula_problem(text, str(exc))]) from None
    except FormulaValueError as exc:
        raise InvalidInput([_formula_problem(text, str(exc).removeprefix("features: "))]) from None
    return {"name": feature.name, "label": feature.label, "url_key": feature.url_key, "dims": feature.dims,
            "thumbnail": [round(float(v), 4) for v in values[:, 0]]}


def _formula_problem(text: str, message: str) -> dict[str, Any]:
    allowed = message.split("; allowed: ", 1)[1] if "; allowed: " in message else None
    return problem("formula", text, f"formula: {message}", allowed, loc=("body", "formula"))


def build_options(settings: Settings, gpu: bool = False) -> dict[str, Any]:
    """The body of ``GET /api/options``."""
    return {
        "version": __version__,
        "datasets": [
            {"name": d.name, "label": d.label, "description": d.description, "task": d.task, "dims": d.dims,
             "default_samples": d.default_samples}
            for d in DATASETS.values()
        ],
        "features": [{"name": f.name, "label": f.label, "url_key": f.url_key, "dims": f.dims,
                      "thumbnail": thumbnail} for f, thumbnail in zip(FEATURES.values(), feature_thumbnails())],
        "formulas": formula_grammar(),
        "activations": [{"name": a.name, "label": a.label} for a in ACTIVATIONS.values()],
        "normalizations": [{"name": name, "label": label} for name, label in NORMALIZATION_LABELS.items()],
        "losses": [{"name": name, "label": LOSS_LABELS.get(name, name), "tasks": list(heads)}
                   for name, heads in LOSSES.items()],
        "regularizations": [{"name": r.name, "label": r.label} for r in REGULARIZERS.values()],
        "optimizers": [{"name": o.name, "label": o.label, "params": dict(o.params)} for o in OPTIMIZERS.values()],
        "schedules": [{"name": s.name, "label": s.label, "params": list(s.params)} for s in SCHEDULES.values()],
        "initializers": [{"name": i.name, "label": i.label, "description": i.description}
                         for i in INITIALIZERS.values()],
        "fields": config_fields(),
        "defaults": Config().model_dump(),
        "limits": settings.limits().model_dump(),
        "server_limits": server_limits(settings),
        "live_fields": [name for name in Config.model_fields if name in LIVE_FIELDS],
        "menus": {**MENUS, "gif_size": gif_sizes(settings)},
        "view": view_defaults(),
        "output_units": OUTPUT_UNITS,
        "palette": PALETTE,
        "devices": ["cpu", "gpu"] if gpu else ["cpu"],
    }
