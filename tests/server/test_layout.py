"""The server's layout keeps its promises: what runs in an engine worker never loads the web framework.

Each check imports in a fresh interpreter, so that nothing this test process already loaded can hide an import."""

from __future__ import annotations

import json
import subprocess
import sys

WEB = ("fastapi", "starlette", "uvicorn", "anyio", "httpx", "websockets")


def modules_after(code: str) -> list[str]:
    """The top-level names in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{name.split('.')[0] for name in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_the_engine_worker_side_imports_no_web_framework():
    """An engine worker process runs ``nnplay.server.live.worker.main``: it and everything it imports (the live
    clock, runs, frames, the typed wire, problems, trainers, options, settings) stay free of the web stack."""
    loaded = modules_after("import nnplay.server.live.worker, nnplay.server.live.wire, nnplay.server.live.channel")
    assert "nnplay" in loaded and "numpy" in loaded
    assert not set(WEB) & set(loaded), f"the worker side loads {sorted(set(WEB) & set(loaded))}"


def test_the_check_sees_the_web_framework_where_it_is_loaded():
    """The same probe on the socket side finds Starlette: the check above can fail."""
    assert {"starlette", "anyio"} <= set(modules_after("import nnplay.server.live.session"))
