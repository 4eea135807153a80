"""nnplay's web server: a FastAPI app (REST + one live training session per WebSocket) and the ``nnplay`` CLI.

``nnplay.server.main:app`` is the ASGI app (``create_app()`` builds one from :class:`nnplay.server.settings.Settings`);
``nnplay.server.cli:main`` is the ``nnplay`` console script. The engine does the training; this package only
validates input, paces training off the event loop and encodes what the page draws.

Importing this package first (as ``nnplay serve`` and ``uvicorn nnplay.server.main:app`` do) gives NumPy one BLAS
thread, unless the environment already says how many: see :func:`single_threaded_blas`.
"""

if __name__ != "nnplay.server":  # the checkout's server/ folder imported on its own, as "server"
    raise ImportError(f"import nnplay.server, not {__name__}: server/ is the package nnplay.server; "
                      "install the checkout with `pip install -e .` (README, Quick start)")

import os
import sys

BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def single_threaded_blas() -> None:
    """Default the BLAS thread count to 1; it only takes effect if NumPy has not been loaded yet.

    Measured on the 2-core target: OpenBLAS splitting the 100×100 grid's small matrix products over two
    threads makes ``Trainer.grid`` 5× slower (1.2 ms instead of 0.22 ms) and keeps the second core busy
    spinning, the core the event loop needs. Every matrix the engine multiplies is small.
    """
    if "numpy" not in sys.modules:
        for name in BLAS_THREAD_VARIABLES:
            os.environ.setdefault(name, "1")


single_threaded_blas()
