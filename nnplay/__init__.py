"""nnplay: a neural-network playground you can click, embed and script.

    from nnplay import Trainer            # the engine's public API (nnplay.engine), for notebooks
    run = Trainer({"dataset": "spiral", "hidden": [8, 8], "seed": 3})

``nnplay.engine`` is the training engine, ``nnplay.server`` the web server and the ``nnplay`` command, and
the page (``nnplay.frontend``) travels with them as package data.

The repository keeps them at its top (``engine/``, ``server/``, ``frontend/``); pyproject.toml's
``package-dir`` maps them into this package, for the wheel and for ``pip install -e .`` alike. That install
is the only way they are importable: ``import engine`` or ``import server`` from a checkout raises an
ImportError that says so.

The engine's names are imported on first use rather than here, so that ``import nnplay.server`` can still
choose NumPy's BLAS threads before NumPy loads (server/__init__.py).
"""

from importlib import import_module

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
