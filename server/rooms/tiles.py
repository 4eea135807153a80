"""What a room reads from the frames its students' sessions already send: dashboard tiles (the ``output``
grid sampled down), the scalars a tile shows, the weights (and normalization parameters) that reopen a
network, and a frame tagged for the lecturer. Nothing here trains or draws: each frame is decoded (its header
and the arrays it needs), never recomputed (docs/decisions.md, "Rooms: tiles").
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from nnplay.engine.normalization import get_normalization

from ..live.frames import NORM_ORDER, decode, pack, quantize

FRAME_START = b'{"type":"frame"'  # a frame's header begins so (encode_parts puts "type" first)


def is_frame(message: bytes) -> bool:
    """Whether a binary message a session sends is a ``frame`` (not ``data``)."""
    return message.startswith(FRAME_START, 8)


def params(sizes: list[int]) -> int:
    """Weights and biases of a dense network of layer widths ``sizes`` (normalization's γ and β not counted)."""
    return sum(fan_in * fan_out + fan_out for fan_in, fan_out in zip(sizes, sizes[1:]))


def _cells(density: int, size: int) -> np.ndarray:
    """The grid index nearest the centre of each of ``size`` tile cells."""
    return np.minimum((np.arange(size) * density + density // 2) // size, density - 1)


def tile_of(frame: bytes, size: int) -> tuple[dict[str, Any], np.ndarray]:
    """A frame's tile facts (docs/protocol.md, "tiles") and its size × size uint8 tile."""
    header, arrays = decode(frame)
    output = arrays["output"]
    tile = np.zeros((size, size), dtype=np.uint8)
    lo = hi = None
    if output.ndim == 1:  # 1-D data: the fitted curve, on row 0
        kind = "curve"
        codes, lo, hi = quantize(output[_cells(output.shape[0], size)])
        tile[0] = codes
    else:
        cells = np.ix_(_cells(output.shape[0], size), _cells(output.shape[1], size))
        if "classes" in arrays:
            kind, tile[:] = "classes", arrays["classes"][cells]
        else:
            kind, tile[:] = "output", output[cells]
            entry = next(e for e in header["arrays"] if e["name"] == "output")
            lo, hi = entry["lo"], entry["hi"]
    regression = header["task"] == "regression"
    facts = {"epoch": header["epoch"], "train_loss": header["train_loss"], "test_loss": header["test_loss"],
             "accuracy": None if regression else header["test_accuracy"],
             "r2": header["test_r2"] if regression else None, "params": params(header["sizes"]),
             "hidden": header["sizes"][1:-1], "status": header["status"], "playing": header["playing"],
             "task": header["task"], "kind": kind, "lo": lo, "hi": hi}
    return facts, tile


def pack_tiles(students: list[dict[str, Any]], tiles: list[np.ndarray], size: int) -> bytes:
    """The ``tiles`` message: ``students`` (each with its ``tile`` row or None) and the tiles, in row order."""
    stack = np.stack(tiles) if tiles else np.zeros((0, size, size), dtype=np.uint8)
    return pack({"type": "tiles", "size": size, "students": students}, [("tiles", stack, None)])


def retag(frame: bytes, **fields: Any) -> bytes:
    """``frame`` with ``fields`` added to its header (its arrays, and their lo/hi, unchanged)."""
    header, arrays = decode(frame)
    entries = header.pop("arrays")
    items = [(e["name"], arrays[e["name"]], (e["lo"], e["hi"]) if "lo" in e else None) for e in entries]
    return pack({**header, **fields}, items)


def network_of(frame: bytes, normalizations: Sequence[str] = ()) -> dict[str, Any]:
    """``{"epoch", "sizes", "weights"}`` of a frame: weights in ``configure``'s layout (per layer W as
    fan_out × fan_in rows, and b), or None when the frame carries no weights (its view left them out). Given
    ``normalizations`` (the config's, one per hidden layer), a normalized layer's entry also has its ``norm``
    (γ, β and, batch norm, the running estimates, as the frame carries them after the layers); without them, a
    normalized network reopens with those at their start."""
    header, arrays = decode(frame)
    sizes, flat = header["sizes"], arrays.get("weights")
    layers = None
    if flat is not None:
        layers, start = [], 0
        for fan_in, fan_out in zip(sizes, sizes[1:]):
            w = flat[start: start + fan_in * fan_out].reshape(fan_out, fan_in)
            b = flat[start + fan_in * fan_out: start + fan_in * fan_out + fan_out]
            layers.append({"W": w.tolist(), "b": b.tolist()})
            start += fan_in * fan_out + fan_out
        for index, name in enumerate(normalizations):
            norm = get_normalization(name)
            if norm is None:
                continue
            width, entry = sizes[index + 1], {"kind": norm.name}
            for key in NORM_ORDER if norm.running else NORM_ORDER[:2]:
                entry[key], start = flat[start: start + width].tolist(), start + width
            layers[index]["norm"] = entry
    return {"epoch": header["epoch"], "sizes": sizes, "weights": layers}
