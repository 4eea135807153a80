"""The binary messages of the live session (docs/protocol.md, "Binary messages"): encoder and decoder.

Layout: ``NNP1`` | uint32 header length H | UTF-8 JSON header padded with spaces so that 8 + H is a multiple
of 8 | arrays, each at a multiple of 8. The header lists each array's name, dtype, shape, offset and nbytes,
plus ``lo``/``hi`` for quantised uint8 arrays: value = lo + q·(hi − lo)/254, q = 255 for NaN.

:func:`encode_frame` turns a Trainer's state (its report and grid) into a ``frame``, in two steps that a live
session runs apart: :func:`frame_parts` copies what the frame shows out of the trainer (while the engine
holds it) and :func:`encode_parts` packs it (after the engine has let go); :func:`encode_data`
its points into a ``data`` message; :func:`decode` reads any of them back (used by tests and benchmarks).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any, Iterable, Optional

import numpy as np

from nnplay.engine import EpochReport, GridResult, Trainer
from nnplay.engine.datasets import poly_x_from_network
from nnplay.engine.features import GRID_EXTENT

MAGIC = b"NNP1"
NAN_CODE = 255
LEVELS = 254
REPORT_FIELDS = ("train_loss", "test_loss", "total_loss", "train_accuracy", "test_accuracy", "train_r2", "test_r2",
                 "train_rmse", "test_rmse", "learning_rate")
EXTRAS = ("neurons", "weights", "gradients", "history")
DTYPE_NAMES = {np.dtype(name).char: name for name in ("uint8", "float32", "int32", "uint32")}


# made once: ``json.dumps`` with any option builds a new encoder at every call, twice the cost of the encoding
_to_json = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def _align(n: int) -> int:
    return (n + 7) & ~7


# ---- the envelope --------------------------------------------------------------------------------------
def pack(header: dict[str, Any], arrays: Iterable[tuple[str, np.ndarray, Optional[tuple[float, float]]]]) -> bytes:
    """One binary message: ``header`` scalars plus ``(name, array, (lo, hi) or None)`` arrays."""
    items = [(name, np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")), q) for name, a, q in arrays]
    # The header's scalars are JSON-encoded once, and the array entries formatted here: their offsets count
    # from the start of the message, so they depend on the header's own length. (Encoding the whole header
    # twice, to guess that length and then with the offsets, and copying the message twice took a small
    # lesson's frame 46 µs to encode; now 33.)
    head = _to_json(header)
    head = head[:-1] + ("," if header else "") + '"arrays":['
    entries, relative = [], []
    position = 0
    for name, array, q in items:
        bounds = "" if q is None else ',"lo":%s,"hi":%s' % (_to_json(float(q[0])), _to_json(float(q[1])))
        entries.append(('{"name":%s,"dtype":"%s","shape":[%s],"offset":' % (
            _to_json(name), DTYPE_NAMES[array.dtype.char], ",".join(map(str, array.shape))),
            ',"nbytes":%d%s}' % (array.nbytes, bounds)))
        relative.append(position)
        position += _align(array.nbytes)
    base = 8
    while True:  # offsets only grow with base, and base with them: this settles in two or three rounds
        text = (head + ",".join(f"{before}{base + offset}{after}" for (before, after), offset in zip(entries, relative))
                + "]}").encode()
        if _align(8 + len(text)) == base:
            break
        base = _align(8 + len(text))
    chunks = [MAGIC, struct.pack("<I", base - 8), text.ljust(base - 8, b" ")]
    for _, array, _ in items:  # the arrays' own buffers, each copied once, into the joined message
        chunks += [memoryview(array.reshape(-1).view(np.uint8)), bytes(_align(array.nbytes) - array.nbytes)]
    return b"".join(chunks)


def decode(message: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(header, {name: array})`` of a binary message; quantised arrays stay uint8 (see :func:`dequantize`)."""
    if message[:4] != MAGIC:
        raise ValueError("not an nnplay binary message (bad magic)")
    (length,) = struct.unpack_from("<I", message, 4)
    header = json.loads(bytes(message[8: 8 + length]).decode())
    arrays = {}
    for entry in header["arrays"]:
        dtype = np.dtype(entry["dtype"]).newbyteorder("<")
        count = entry["nbytes"] // dtype.itemsize
        arrays[entry["name"]] = np.frombuffer(message, dtype=dtype, count=count, offset=entry["offset"]).reshape(
            entry["shape"])
    return header, arrays


def array_entry(header: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in header["arrays"] if e["name"] == name)


# ---- quantisation --------------------------------------------------------------------------------------
def quantize(values: np.ndarray, lo: Optional[float] = None,
             hi: Optional[float] = None) -> tuple[np.ndarray, float, float]:
    """uint8 codes of ``values`` on [lo, hi] (default: the finite min and max); NaN → 255, ±inf clipped."""
    values = np.asarray(values, dtype=np.float32)
    if lo is None or hi is None:
        lo, hi = _finite_range(values)
    span = hi - lo
    with np.errstate(all="ignore"):  # NaN and ±inf pass through the arithmetic; NaN is coded last
        scaled = (values - np.float32(lo)) * np.float32(LEVELS / span) if span > 0 else np.zeros_like(values)
        np.rint(scaled, out=scaled)
        np.minimum(np.maximum(scaled, 0, out=scaled), LEVELS, out=scaled)  # np.clip's wrapper cost ~5 µs more
        codes = scaled.astype(np.uint8)
        if not np.isfinite(values.sum()):  # one pass, and a NaN anywhere makes the sum NaN
            codes[np.isnan(values)] = NAN_CODE
    return codes, float(lo), float(hi)


def _finite_range(values: np.ndarray) -> tuple[float, float]:
    """The least and greatest finite value ((0, 0) if none): a NaN or ±inf makes min or max non-finite, so
    only then are the finite values picked out (the masks and copies were half a grid's quantisation)."""
    if not values.size:
        return 0.0, 0.0
    lo, hi = float(values.min()), float(values.max())
    if np.isfinite(lo) and np.isfinite(hi):
        return lo, hi
    finite = values[np.isfinite(values)]
    return (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)


def dequantize(codes: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """float32 values of uint8 codes (NaN for 255)."""
    values = lo + codes.astype(np.float32) * np.float32((hi - lo) / LEVELS)
    values[codes == NAN_CODE] = np.nan
    return values


def _floats(values: Iterable[Optional[float]]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float32)


# ---- frame and data ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FrameParts:
    """What a ``frame`` shows of one trainer at one epoch, copied out of it (host arrays only), so that the
    frame can be encoded after the trainer has moved on and without holding anything the trainer needs."""

    header: dict[str, Any]
    arrays: list[tuple[str, np.ndarray, Optional[tuple[float, float]]]]


NORM_ORDER = ("gamma", "beta", "running_mean", "running_var")  # a normalized layer's values in a frame's weights


def frame_parts(trainer: Trainer, report: EpochReport, grid: GridResult, extras: Iterable[str] = EXTRAS) -> FrameParts:
    """The frame content of ``trainer`` now: ``report`` and ``grid`` must be of its current weights. The
    confusion matrices come from the report's own forward pass (``report.confusion``)."""
    extras = set(extras)
    confusion = report.confusion
    header: dict[str, Any] = {
        "epoch": trainer.epoch, "status": trainer.status, "message": trainer.message,
        "confusion": None if confusion is None else {k: confusion[k] for k in ("classes", "train", "test")},
        **{name: getattr(report, name) for name in REPORT_FIELDS},
        "task": trainer.task, "density": grid.density, "thumb": grid.thumb, "sizes": list(trainer.network.sizes)}
    arrays: list[tuple[str, np.ndarray, Optional[tuple[float, float]]]] = []
    if trainer.config.dims == 1:
        arrays.append(("output", grid.values.astype(np.float32), None))
    else:
        bounds = (-1.0, 1.0) if trainer.task == "binary" else (0.0, 1.0) if trainer.task == "multiclass" else None
        codes, lo, hi = quantize(grid.values, *(bounds or (None, None)))
        arrays.append(("output", codes, (lo, hi)))
    if grid.classes is not None:
        arrays.append(("classes", grid.classes.astype(np.uint8), None))
    if "neurons" in extras:
        empty = (0, grid.thumb) if trainer.config.dims == 1 else (0, grid.thumb, grid.thumb)
        thumbs = np.concatenate(grid.neurons) if grid.neurons else np.zeros(empty)
        codes, lo, hi = quantize(thumbs)
        arrays.append(("neurons", codes, (lo, hi)))
    if "weights" in extras:  # per layer W (fan_out × fan_in, row-major) then b: get_layers copies them; then
        # per normalized hidden layer γ, β (batch norm: and the running mean and variance), so a page restores it
        norms = [np.concatenate([norm[k] for k in NORM_ORDER if k in norm]) for norm in trainer.network.get_norms()
                 if norm is not None]
        arrays.append(("weights", np.concatenate([np.concatenate([w.ravel(), b]) for w, b in
                                                  trainer.network.get_layers()] + norms).astype(np.float32), None))
    if "gradients" in extras:
        arrays.append(("grad_norms", _floats(report.grad_norms), None))
        arrays.append(("weight_norms", _floats(report.weight_norms), None))
    return FrameParts(header, arrays)


def encode_parts(parts: FrameParts, *, playing: bool = False, epochs_per_second: float = 0.0,
                 history: Optional[np.ndarray] = None, variant: Optional[dict[str, Any]] = None) -> bytes:
    """The ``frame`` message of ``parts``; ``history`` rows [epoch, train_loss, test_loss] go in when given.
    ``variant`` ({"variant", "variants", "label"}) tags the frames of a comparison session."""
    header = {"type": "frame", **parts.header, "playing": playing, **(variant or {}),
              "epochs_per_second": round(float(epochs_per_second), 2)}
    arrays = list(parts.arrays)
    if history is not None:
        arrays.append(("history", np.asarray(history, dtype=np.float32).reshape(-1, 3), None))
    return pack(header, arrays)


def encode_frame(trainer: Trainer, report: EpochReport, grid: GridResult, *, extras: Iterable[str] = EXTRAS,
                 playing: bool = False, epochs_per_second: float = 0.0,
                 history: Optional[np.ndarray] = None, variant: Optional[dict[str, Any]] = None) -> bytes:
    """A ``frame`` message for the trainer's current state (``report`` and ``grid`` of that state; the
    report made with ``confusion=True``). The history extra needs "history" in ``extras``."""
    history = history if "history" in set(extras) else None
    return encode_parts(frame_parts(trainer, report, grid, extras), playing=playing,
                        epochs_per_second=epochs_per_second, history=history, variant=variant)


def encode_data(trainer: Trainer) -> bytes:
    """A ``data`` message: the training and test points as float32 rows [x1, x2, label]."""
    data = trainer.data
    poly = trainer.config.dataset == "poly_demo"
    x_units = poly_x_from_network([-GRID_EXTENT, GRID_EXTENT]).tolist() if poly else None
    header = {"type": "data", "task": trainer.task,
              "n_classes": trainer.config.n_classes if trainer.task == "multiclass" else (2 if trainer.task == "binary"
                                                                                         else 0),
              "dims": trainer.config.dims, "x_units": x_units, "n_train": data.n_train, "n_test": data.n_test}
    train = np.column_stack([data.x_train, data.y_train]).astype(np.float32).reshape(-1, 3)
    test = np.column_stack([data.x_test, data.y_test]).astype(np.float32).reshape(-1, 3)
    return pack(header, [("train", train, None), ("test", test, None)])
