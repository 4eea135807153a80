"""The one place that decides NumPy vs CuPy.

Every other engine module receives the array module as ``xp`` (from :func:`get_backend` or from the
data with :func:`array_module`) and never imports CuPy itself. Results leave the device only through
:func:`to_host`, so a GPU run and a CPU run hand the same NumPy arrays to callers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

DEVICES = ("cpu", "gpu")
ENV_DEVICE = "NNPLAY_DEVICE"


class BackendError(RuntimeError):
    """The requested device cannot be used (CuPy missing, or no CUDA device visible)."""


@dataclass(frozen=True)
class Backend:
    """An array module plus the name of the device it runs on."""

    device: str
    xp: Any

    def __repr__(self) -> str:
        return f"Backend(device={self.device!r}, xp={self.xp.__name__})"


_CPU = Backend("cpu", np)


def _load_cupy() -> Any:
    try:
        import cupy  # noqa: PLC0415 - the only CuPy import in the engine
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise BackendError(
            "device 'gpu' needs CuPy, which is not installed: pip install 'nnplay[gpu]' (cupy-cuda12x)"
        ) from exc
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # pragma: no cover - depends on the machine
        raise BackendError(f"device 'gpu': CuPy is installed but cannot reach a CUDA device ({exc})") from exc
    if count < 1:  # pragma: no cover - depends on the machine
        raise BackendError("device 'gpu': CuPy is installed but sees no CUDA device")
    return cupy


def device_name(device: str | None = None) -> str:
    """The device ``device`` names: itself, or for None $NNPLAY_DEVICE, else 'cpu' (nothing is loaded)."""
    return (device or os.environ.get(ENV_DEVICE) or "cpu").lower()


def get_backend(device: str | None = None) -> Backend:
    """Return the backend for ``device`` ('cpu' or 'gpu'); None reads $NNPLAY_DEVICE (default 'cpu')."""
    device = device_name(device)
    if device not in DEVICES:
        raise BackendError(f"unknown device {device!r}; allowed: {', '.join(DEVICES)}")
    if device == "cpu":
        return _CPU
    return Backend("gpu", _load_cupy())


def gpu_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        _load_cupy()
    except BackendError:
        return False
    return True


def limit_blas_threads(threads: int = 1) -> None:
    """Make NumPy's BLAS use ``threads`` threads, process-wide.

    The engine's matrices are small (a batch × a few dozen neurons): a second BLAS thread gains little
    and, as soon as other work shares the cores (a server with many sessions, a test run), its spinning
    threads make a 100×100 grid four times slower. The server, the CLI and the benchmarks call this at
    start; a notebook may call it too.
    """
    from threadpoolctl import threadpool_limits  # noqa: PLC0415 - only needed by the callers above

    threadpool_limits(limits=threads, user_api="blas")


def array_module(array: Any) -> Any:
    """The array module an array belongs to (NumPy for NumPy arrays and Python scalars)."""
    module = type(array).__module__
    if module.startswith("cupy"):
        import cupy  # noqa: PLC0415 - only reached when the array already is a CuPy array

        return cupy
    return np


def to_host(array: Any) -> np.ndarray:
    """Copy an array to the host as NumPy; NumPy arrays pass through unchanged (no copy)."""
    if isinstance(array, np.ndarray):
        return array
    if hasattr(array, "get"):
        return array.get()
    return np.asarray(array)
