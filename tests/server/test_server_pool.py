"""The engine pool (fair turns, worker threads, the switch interval) and the BLAS thread default."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import anyio
import pytest
from anyio.from_thread import start_blocking_portal

from nnplay.server.jobs.pool import EnginePool

ROOT = Path(__file__).resolve().parents[2]


def test_turns_run_in_worker_threads_one_at_a_time_in_arrival_order():
    order, threads, running = [], set(), []

    def work(name: str) -> str:
        running.append(name)
        assert len(running) == 1  # never two at once with one thread
        threads.add(threading.get_ident())
        order.append(name)
        running.remove(name)
        return name

    async def main():
        pool = EnginePool(threads=1)
        lock = anyio.Lock()
        async with anyio.create_task_group() as tg:
            for i in range(6):
                tg.start_soon(pool.run, work, f"job{i}")
                await anyio.sleep(0)  # arrive in order
        assert await pool.run(work, "last", lock=lock) == "last"

    with start_blocking_portal() as portal:  # its own thread: the browser tests may hold this thread's loop
        portal.call(main)
    assert order == [f"job{i}" for i in range(6)] + ["last"]
    assert threading.get_ident() not in threads


def test_the_switch_interval_is_lowered_while_any_pool_serves():
    before = sys.getswitchinterval()
    first, second = EnginePool(switch_interval=0.0005), EnginePool(switch_interval=0.001)
    first.start()
    second.start()
    assert sys.getswitchinterval() == pytest.approx(0.0005)
    first.stop()
    assert sys.getswitchinterval() == pytest.approx(0.0005)
    second.stop()
    assert sys.getswitchinterval() == before


def test_importing_server_first_gives_numpy_one_blas_thread():
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                                            "MKL_NUM_THREADS")}
    code = "import nnplay.server, numpy, os; print(os.environ['OPENBLAS_NUM_THREADS'])"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
    env["OPENBLAS_NUM_THREADS"] = "2"  # the environment's own choice wins
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "2"
