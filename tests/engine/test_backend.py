"""nnplay.engine.backend: NumPy by default, CuPy only on request, one way to the host; a GPU run matches the CPU."""

import numpy as np
import pytest

from nnplay.engine import Backend, BackendError, Trainer, get_backend, gpu_available, to_host
from nnplay.engine.backend import ENV_DEVICE, array_module


def test_cpu_backend_is_numpy():
    backend = get_backend("cpu")
    assert isinstance(backend, Backend) and backend.device == "cpu" and backend.xp is np
    assert get_backend("CPU").xp is np


def test_default_device_reads_the_environment(monkeypatch):
    monkeypatch.delenv(ENV_DEVICE, raising=False)
    assert get_backend().device == "cpu" and get_backend(None).xp is np
    monkeypatch.setenv(ENV_DEVICE, "cpu")
    assert get_backend().xp is np
    monkeypatch.setenv(ENV_DEVICE, "tpu")
    with pytest.raises(BackendError, match="allowed: cpu, gpu"):
        get_backend()


@pytest.mark.parametrize("device", ["tpu", "cuda", "metal"])
def test_unknown_device_lists_the_allowed(device):
    with pytest.raises(BackendError, match=rf"unknown device '{device}'; allowed: cpu, gpu"):
        get_backend(device)


def test_gpu_request_without_a_gpu_says_why():
    if gpu_available():
        pytest.skip("a GPU is available here")
    with pytest.raises(BackendError, match="gpu") as info:
        get_backend("gpu")
    assert "CuPy" in str(info.value)
    with pytest.raises(BackendError):
        Trainer({"dataset": "circle", "device": "gpu", "seed": 0})


def test_to_host_passes_numpy_through():
    a = np.arange(6.0).reshape(2, 3)
    assert to_host(a) is a
    np.testing.assert_array_equal(to_host([1, 2, 3]), np.array([1, 2, 3]))
    assert isinstance(to_host(2.5), np.ndarray) and to_host(2.5) == 2.5
    assert array_module(a) is np and array_module(1.0) is np


def test_cpu_trainer_uses_numpy():
    trainer = Trainer({"dataset": "circle", "seed": 0, "device": "cpu"})
    assert trainer.backend.device == "cpu" and trainer.xp is np
    assert isinstance(trainer.grid(density=10).values, np.ndarray)


@pytest.mark.gpu
def test_gpu_training_matches_cpu():
    if not gpu_available():
        pytest.skip("needs CuPy and a CUDA device")
    cfg = {"dataset": "spiral", "features": ["x1", "x2", "sin_x1", "sin_x2"], "hidden": [8, 8],
           "activation": "tanh", "optimizer": "adam", "learning_rate": 0.01, "regularization": "l2",
           "reg_rate": 0.001, "shuffle": True, "seed": 7}
    cpu = Trainer({**cfg, "device": "cpu"}, dtype=np.float64)
    gpu = Trainer({**cfg, "device": "gpu"}, dtype=np.float64)
    assert gpu.backend.device == "gpu" and gpu.xp is not np
    assert gpu.get_weights() == cpu.get_weights()
    cpu_reports, gpu_reports = cpu.train(5), gpu.train(5)
    for c, g in zip(cpu_reports, gpu_reports, strict=True):
        assert g.train_loss == pytest.approx(c.train_loss, rel=1e-9)
        assert g.test_accuracy == pytest.approx(c.test_accuracy, abs=0.005)  # at most one point on the boundary
    for c, g in zip(cpu.get_weights(), gpu.get_weights(), strict=True):
        np.testing.assert_allclose(g["W"], c["W"], rtol=0, atol=1e-9)
        np.testing.assert_allclose(g["b"], c["b"], rtol=0, atol=1e-9)
    grid_c, grid_g = cpu.grid(density=20), gpu.grid(density=20)
    assert isinstance(grid_g.values, np.ndarray)  # results come back to the host
    np.testing.assert_allclose(grid_g.values, grid_c.values, atol=1e-6)
    for nc, ng in zip(grid_c.neurons, grid_g.neurons, strict=True):
        assert isinstance(ng, np.ndarray)
        np.testing.assert_allclose(ng, nc, atol=1e-6)
    # float32, the default: agreement to float32 rounding
    cpu32, gpu32 = Trainer({**cfg, "device": "cpu"}), Trainer({**cfg, "device": "gpu"})
    cpu32.train(3)
    gpu32.train(3)
    for c, g in zip(cpu32.get_weights(), gpu32.get_weights(), strict=True):
        np.testing.assert_allclose(g["W"], c["W"], rtol=0, atol=1e-4)
