"""Sweeps on a Ray cluster: a local cluster on loopback (two CPUs) trains a sweep's chunks as Ray tasks, with the
same results as the sweep trained here. Skipped when ray (the extra nnplay[ray]) is not installed."""

from __future__ import annotations

import pytest

from nnplay.server.settings import Settings
from nnplay.server.sweeps import SweepLimits, run_sweep
from nnplay.server.sweeps.runner import Inline

ray = pytest.importorskip("ray")

BODY = {"config": {"dataset": "xor", "n_samples": 80, "batch_size": 8},
        "grid": {"learning_rate": [0.03, 0.3], "hidden": [[3], [2, 2]]}, "seeds": 2, "epochs": 6,
        "halving": {"metric": "test_loss", "every": 3, "keep": 0.5}}


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    yield
    ray.shutdown()


def test_a_sweep_on_ray_equals_the_sweep_trained_here(cluster):
    from nnplay.server.sweeps.ray_tasks import RayExecutor

    limits = SweepLimits.of(Settings.model_construct())
    here = run_sweep(BODY, limits=limits, executor=Inline(), chunk_size=2)
    on_ray = run_sweep(BODY, limits=limits, executor=RayExecutor("auto"), chunk_size=2)
    assert [r["status"] for r in on_ray["results"]].count("halved") == 4
    for ours, theirs in zip(here["results"], on_ray["results"], strict=True):
        assert ours == theirs
