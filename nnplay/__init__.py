"""nnplay: a neural-network playground you can click, embed and script.

    from nnplay import Trainer            # the engine's public API (nnplay.engine), for notebooks
    run = Trainer({"dataset": "spiral", "hidden": [8, 8], "seed": 3})

``nnplay.engine`` is the training engine, ``nnplay.server`` the web server and the ``nnplay`` command, and
the page (``frontend/``) travels with them as package data.

Where those live. A built wheel holds them as ``nnplay/engine``, ``nnplay/server`` and ``nnplay/frontend``
(pyproject.toml's ``package-dir`` maps the repository's top-level ``engine/``, ``server/`` and ``frontend/``
into this package). In a checkout they sit beside this folder instead, so this package's search path also
covers the repository root there; the editable install maps them the same way.

The engine's names are imported on first use rather than here, so that ``import nnplay.server`` can still
choose NumPy's BLAS threads before NumPy loads (server/__init__.py).
"""

from importlib import import_module
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if not (_HERE / "engine").is_dir() and (_HERE.parent / "engine" / "__init__.py").is_file():  # a checkout
    __path__.append(str(_HERE.parent))

SUBPACKAGES = ("engine", "server", "frontend")


def _engine():
    return import_module(f"{__name__}.engine")


def __getattr__(name: str):
    if name in SUBPACKAGES or (name.startswith("__") and name not in ("__all__", "__version__")):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")  # let the import system load it
    engine = _engine()
    if name == "__all__":
        return list(engine.__all__)
    if name in engine.__all__ or name == "__version__":
        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *SUBPACKAGES, *_engine().__all__, "__version__"})
