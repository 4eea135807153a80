"""The binary messages of the live session (docs/protocol.md, "Binary messages"): encoder and decoder.

Layout: ``NNP1`` | uint32 header length H | UTF-8 JSON header padded with spaces so that 8 + H is a multiple
of 8 | arrays, each at a multiple of 8. The header lists each array's name, dtype, shape, offset and nbytes,
plus ``lo``/``hi`` for quantised uint8 arrays: value = lo + q·(hi − lo)/254, q = 255 for NaN.

:func:`encode_frame` turns a Trainer's state (its report and grid) into a ``frame``; :func:`encode_data`
its points into a ``data`` message; :func:`decode` reads any of them back (used by tests and benchmarks).
"""

from __future__ import annotations

import json
import struct
from typing import Any, Iterable, Optional

import numpy as np

from nnplay.engine import EpochReport, GridResult, Trainer
from nnplay.engine.datasets import poly_x_from_network

MAGIC = b"NNP1"
NAN_CODE = 255
LEVELS = 254
REPORT_FIELDS = ("train_loss", "test_loss", "total_loss", "train_accuracy", "test_accuracy", "train_r2", "test_r2",
                 "train_rmse", "test_rmse", "learning_rate")
EXTRAS = ("neurons", "weights", "gradients", "history")
DTYPE_NAMES = {np.dtype(name).char: name for name in ("uint8", "float32", "int32", "uint32")}


def _align(n: int) -> int:
    return (n + 7) & ~7


# ---- the envelope --------------------------------------------------------------------------------------
def pack(header: dict[str, Any], arrays: Iterable[tuple[str, np.ndarray, Optional[tuple[float, float]]]]) -> bytes:
    """One binary message: ``header`` scalars plus ``(name, array, (lo, hi) or None)`` arrays."""
    items = [(name, np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")), q) for name, a, q in arrays]
    entries, relative = [], 0
    for name, array, q in items:
        entry = {"name": name, "dtype": DTYPE_NAMES[array.dtype.char], "shape": list(array.shape),
                 "offset": relative, "nbytes": array.nbytes}
        if q is not None:
            entry["lo"], entry["hi"] = q
        entries.append(entry)
        relative += _align(array.nbytes)
    # Offsets count from the start of the message, so they depend on the header's own length: guess the
    # length with room for every offset to gain 8 digits, which always fits; grow in the (impossible) rest.
    base = _align(8 + len(json.dumps({**header, "arrays": entries}, separators=(",", ":"))) + 8 * len(entries))
    while True:
        for entry in entries:
            entry["offset"] += base
        text = json.dumps({**header, "arrays": entries}, separators=(",", ":"), allow_nan=False).encode()
        if 8 + len(text) <= base:
            break
        for entry in entries:
            entry["offset"] -= base
        base = _align(8 + len(text) + 16)
    out = bytearray(base + relative)
    out[0:4] = MAGIC
    struct.pack_into("<I", out, 4, base - 8)
    out[8:base] = text.ljust(base - 8, b" ")
    body = np.frombuffer(out, dtype=np.uint8)
    for entry, (_, array, _) in zip(entries, items, strict=True):
        body[entry["offset"]: entry["offset"] + array.nbytes] = array.reshape(-1).view(np.uint8)
    return bytes(out)


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
    finite = np.isfinite(values)
    if lo is None or hi is None:
        lo, hi = (float(values[finite].min()), float(values[finite].max())) if finite.any() else (0.0, 0.0)
    span = hi - lo
    with np.errstate(all="ignore"):  # NaN and ±inf pass through the arithmetic; NaN is coded last
        scaled = (values - np.float32(lo)) * np.float32(LEVELS / span) if span > 0 else np.zeros_like(values)
        np.rint(scaled, out=scaled)
        np.clip(scaled, 0, LEVELS, out=scaled)
        codes = scaled.astype(np.uint8)
    if not finite.all():
        codes[np.isnan(values)] = NAN_CODE
    return codes, float(lo), float(hi)


def dequantize(codes: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """float32 values of uint8 codes (NaN for 255)."""
    values = lo + codes.astype(np.float32) * np.float32((hi - lo) / LEVELS)
    values[codes == NAN_CODE] = np.nan
    return values


def _floats(values: Iterable[Optional[float]]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float32)


# ---- frame and data ----------------------------------------------------------------------------------------
def encode_frame(trainer: Trainer, report: EpochReport, grid: GridResult, *, extras: Iterable[str] = EXTRAS,
                 playing: bool = False, epochs_per_second: float = 0.0,
                 history: Optional[np.ndarray] = None, variant: Optional[dict[str, Any]] = None) -> bytes:
    """A ``frame`` message for the trainer's current state (``report`` and ``grid`` of that state).
    ``variant`` ({"variant", "variants", "label"}) tags the frames of a comparison session."""
    extras = set(extras)
    header: dict[str, Any] = {"type": "frame", "epoch": trainer.epoch, "status": trainer.status,
                              "message": trainer.message, "playing": playing, **(variant or {})}
    if trainer.task != "regression":  # small integer counts: JSON is the compact form here
        train, test = trainer.confusion("train"), trainer.confusion("test")
        header["confusion"] = {"classes": train["classes"], "train": train["matrix"], "test": test["matrix"]}
    else:
        header["confusion"] = None
    header.update({name: getattr(report, name) for name in REPORT_FIELDS})
    header.update({"epochs_per_second": round(float(epochs_per_second), 2), "task": trainer.task,
                   "density": grid.density, "thumb": grid.thumb, "sizes": list(trainer.network.sizes)})
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
        thumbs = np.concatenate(grid.neurons) if grid.neurons else np.zeros((0, *grid.values.shape[:0], grid.thumb)
                                                                            if trainer.config.dims == 1 else
                                                                            (0, grid.thumb, grid.thumb))
        codes, lo, hi = quantize(thumbs)
        arrays.append(("neurons", codes, (lo, hi)))
    if "weights" in extras:
        flat = [np.concatenate([np.asarray(layer["W"], np.float32).ravel(), np.asarray(layer["b"], np.float32)])
                for layer in trainer.get_weights()]
        arrays.append(("weights", np.concatenate(flat), None))
    if "gradients" in extras:
        arrays.append(("grad_norms", _floats(report.grad_norms), None))
        arrays.append(("weight_norms", _floats(report.weight_norms), None))
    if "history" in extras and history is not None:
        arrays.append(("history", np.asarray(history, dtype=np.float32).reshape(-1, 3), None))
    return pack(header, arrays)


def encode_data(trainer: Trainer) -> bytes:
    """A ``data`` message: the training and test points as float32 rows [x1, x2, label]."""
    data = trainer.data
    x_units = poly_x_from_network([-6.0, 6.0]).tolist() if trainer.config.dataset == "poly_demo" else None
    header = {"type": "data", "task": trainer.task,
              "n_classes": trainer.config.n_classes if trainer.task == "multiclass" else (2 if trainer.task == "binary"
                                                                                         else 0),
              "dims": trainer.config.dims, "x_units": x_units, "n_train": data.n_train, "n_test": data.n_test}
    train = np.column_stack([data.x_train, data.y_train]).astype(np.float32).reshape(-1, 3)
    test = np.column_stack([data.x_test, data.y_test]).astype(np.float32).reshape(-1, 3)
    return pack(header, [("train", train, None), ("test", test, None)])
