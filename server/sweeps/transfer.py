"""Trainers across a process boundary: a successive-halving sweep trains a chunk of runs to a rung in one
process and goes on with them, in whichever process is free, after the rung.

A Trainer holds, besides its arrays, references to its array module (``xp``) and to entries of the engine's
registries (activations, losses, regularisers, schedules, ...), some of them lambdas, which pickle cannot
copy. :func:`dumps` pickles them by name instead (a module by its import name, a registry entry as "entry
``name`` of registry ``R``"), so the copy a process rebuilds with :func:`loads` refers to its own modules and
registries and trains exactly as the original would have. Everything else (arrays, random generators, the
config, the history) is pickled as usual.
"""

from __future__ import annotations

import importlib
import io
import pickle
import types
from typing import Any

REGISTRIES = (  # (module, dict) of every engine registry a Trainer may point into
    ("nnplay.engine.activations", "ACTIVATIONS"), ("nnplay.engine.datasets", "DATASETS"),
    ("nnplay.engine.features", "FEATURES"), ("nnplay.engine.initializers", "INITIALIZERS"),
    ("nnplay.engine.normalization", "NORMALIZATIONS"), ("nnplay.engine.optimizers", "OPTIMIZERS"),
    ("nnplay.engine.regularizers", "REGULARIZERS"), ("nnplay.engine.schedules", "SCHEDULES"),
)


def _entries() -> dict[int, tuple[str, str, tuple]]:
    """id(entry) -> (module, registry, key path) for every registry entry (LOSSES is nested: task, name)."""
    found: dict[int, tuple[str, str, tuple]] = {}
    for module, name in (*REGISTRIES, ("nnplay.engine.losses", "LOSSES")):
        registry = getattr(importlib.import_module(module), name)
        for key, entry in registry.items():
            if isinstance(entry, dict):
                found.update({id(inner): (module, name, (key, k)) for k, inner in entry.items()})
            elif entry is not None:
                found[id(entry)] = (module, name, (key,))
    return found


def registry_entry(module: str, name: str, path: tuple) -> Any:
    """The entry at ``path`` of registry ``name`` in ``module`` (how :func:`loads` finds it again)."""
    entry = getattr(importlib.import_module(module), name)
    for key in path:
        entry = entry[key]
    return entry


class _Pickler(pickle.Pickler):
    entries: dict[int, tuple[str, str, tuple]] = {}

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, types.ModuleType):
            return importlib.import_module, (obj.__name__,)
        where = self.entries.get(id(obj))
        if where is not None:
            return registry_entry, where
        return NotImplemented


def dumps(value: Any) -> bytes:
    """``value`` (Trainers, lists of them, anything picklable) as bytes for :func:`loads` in any process."""
    if not _Pickler.entries:
        _Pickler.entries = _entries()
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


def loads(data: bytes) -> Any:
    return pickle.loads(data)
