"""A sweep's chunks as Ray tasks: ``pip install nnplay[ray]`` and ``NNPLAY_RAY_ADDRESS`` (or ``nnplay serve
--ray ADDRESS``; ``auto`` joins the cluster this machine belongs to, ``local`` starts one in this process).

:class:`RayExecutor` is a ``concurrent.futures.Executor`` whose ``submit`` sends ``work.train_chunk`` to the
cluster as a task (one CPU each) and returns the task's future, so the sweep's runner treats Ray like the
local pool; each chunk's answer is the same bytes and numbers as on this machine. The cluster's Python must
have this nnplay installed (``pip install nnplay[ray]`` on every node).
"""

from __future__ import annotations

from concurrent.futures import Executor, Future
from typing import Any, Callable

RAY_MISSING = "Ray is not installed: pip install 'nnplay[ray]' (or unset NNPLAY_RAY_ADDRESS)"


class RayExecutor(Executor):
    """Chunks as tasks on the Ray cluster at ``address`` (connected on creation)."""

    def __init__(self, address: str):
        try:
            import ray  # noqa: PLC0415 - optional extra
        except ImportError as exc:
            raise RuntimeError(RAY_MISSING) from exc
        self.ray = ray
        if not ray.is_initialized():
            if address == "local":
                ray.init(include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=address, log_to_driver=False)
        self._remote = ray.remote(num_cpus=1)(_call)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        return self._remote.remote(fn, *args, **kwargs).future()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        pass  # the cluster outlives the server; the connection closes with the process


def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)
