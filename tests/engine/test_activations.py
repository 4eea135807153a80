"""nnplay.engine.activations: each value fn(xp, z, out) and derivative grad(xp, z, a, out), in float64.

The derivative is checked against central differences of the engine's own fn, against closed forms written
here, and (marked torch) against PyTorch's functional activations and autograd.
"""

import math

import numpy as np
import pytest

from nnplay.engine import ACTIVATIONS
from nnplay.engine import activations
from nnplay.engine.activations import ELU_ALPHA, LEAKY_SLOPE, get_activation

NAMES = list(ACTIVATIONS)
KINKED = {"relu", "leaky_relu", "elu"}  # derivative jumps (or its derivative jumps) at z = 0
H = 1e-6


def _points():
    """z in [−8, 8] plus large values, kept 1e-3 away from 0 (where the kinked ones are not differentiable)."""
    z = np.concatenate([np.linspace(-8, 8, 161), [-40.0, -20.0, 20.0, 40.0], np.geomspace(1e-3, 3, 20)])
    z = np.concatenate([z, -z])
    return z[np.abs(z) >= 1e-3]


def value(name, z):
    out = np.full_like(z, np.nan)
    get_activation(name).fn(np, z.copy(), out)
    return out


def derivative(name, z):
    a = value(name, z)
    out = np.full_like(z, np.nan)
    get_activation(name).grad(np, z.copy(), a.copy(), out)
    return out


def _sigmoid(z):
    return np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))


_erf = np.vectorize(math.erf)
_erfc = np.vectorize(math.erfc)


def _normal_cdf(z):
    return 0.5 * _erfc(-z / math.sqrt(2))  # erfc keeps the lower tail accurate


def _mish_grad(z):
    t = np.tanh(np.logaddexp(0, z))
    return t + z * _sigmoid(z) * (1 - t * t)


CLOSED_FORMS = {
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1 - _sigmoid(z))),
    "linear": (lambda z: z, lambda z: np.ones_like(z)),
    "leaky_relu": (lambda z: np.where(z > 0, z, 0.01 * z), lambda z: np.where(z > 0, 1.0, 0.01)),
    "elu": (lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
            lambda z: np.where(z > 0, 1.0, np.exp(np.minimum(z, 0)))),
    "softplus": (lambda z: np.logaddexp(0, z), _sigmoid),
    "swish": (lambda z: z * _sigmoid(z), lambda z: _sigmoid(z) * (1 + z * (1 - _sigmoid(z)))),
    "sine": (np.sin, np.cos),
    "gelu": (lambda z: z * _normal_cdf(z), lambda z: _normal_cdf(z) + z * np.exp(-z * z / 2) / math.sqrt(2 * math.pi)),
    "mish": (lambda z: z * np.tanh(np.logaddexp(0, z)), _mish_grad),
}


def test_registry_names_and_unknown_name():
    assert NAMES == ["relu", "tanh", "sigmoid", "linear", "leaky_relu", "elu", "softplus", "swish", "sine", "gelu",
                     "mish"]
    assert set(CLOSED_FORMS) == set(NAMES)
    with pytest.raises(ValueError, match="allowed: relu, tanh"):
        get_activation("selu")
    assert LEAKY_SLOPE == 0.01 and ELU_ALPHA == 1.0  # torch's defaults


@pytest.mark.parametrize("name", NAMES)
def test_derivative_matches_central_differences(name):
    z = _points()
    numeric = (value(name, z + H) - value(name, z - H)) / (2 * H)
    np.testing.assert_allclose(derivative(name, z), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", NAMES)
def test_value_and_derivative_match_closed_forms(name):
    z = np.concatenate([_points(), [0.0]])
    f, df = CLOSED_FORMS[name]
    np.testing.assert_allclose(value(name, z), f(z), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(derivative(name, z), df(z), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_writes_into_out_and_leaves_inputs_alone(name):
    """fn and grad write their result into ``out`` (preallocated buffers) and do not modify z or a:
    backprop reads z and a again after the forward pass."""
    act = get_activation(name)
    z = np.linspace(-3, 3, 12).reshape(3, 4)
    z_before = z.copy()
    out = np.zeros_like(z)
    act.fn(np, z, out)
    np.testing.assert_allclose(out, CLOSED_FORMS[name][0](z_before), rtol=1e-12, atol=1e-15)
    a = out.copy()
    grad = np.full_like(z, 7.0)
    act.grad(np, z, a, grad)
    np.testing.assert_array_equal(z, z_before)
    np.testing.assert_array_equal(a, out)
    np.testing.assert_allclose(grad, CLOSED_FORMS[name][1](z_before), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["sigmoid", "softplus", "swish", "elu", "tanh", "gelu", "mish"])
def test_no_overflow_for_large_inputs(name):
    z = np.array([-1000.0, -700.0, 700.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        a = value(name, z)
        d = derivative(name, z)
    assert np.isfinite(a).all() and np.isfinite(d).all()


@pytest.mark.torch
@pytest.mark.parametrize("name", NAMES)
def test_matches_torch(name):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    fns = {"relu": F.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "linear": lambda t: t,
           "leaky_relu": F.leaky_relu, "elu": F.elu, "softplus": F.softplus, "swish": F.silu, "sine": torch.sin,
           "gelu": F.gelu, "mish": F.mish}
    z = np.concatenate([_points(), [0.0]])  # including z = 0 exactly: the same one-sided conventions as torch
    t = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    out = fns[name](t)
    out.sum().backward()
    np.testing.assert_allclose(value(name, z), out.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(derivative(name, z), t.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_gelu_lower_tail_keeps_relative_accuracy():
    """Φ(z) comes from erfc in the lower tail, not 1 + erf(z/√2) (which cancels to 0 below z ≈ −8.3):
    GELU(−10) = −10·Φ(−10) = −7.62e−23 to float64's precision."""
    z = np.array([-10.0, -5.0, -3.0])
    np.testing.assert_allclose(value("gelu", z), z * _normal_cdf(z), rtol=1e-13, atol=0)


@pytest.mark.torch
@pytest.mark.parametrize("name", ["gelu", "mish"])
def test_float32_matches_torch_float32(name):
    """The float32 engine (the default) agrees with torch's float32 GELU and Mish to a few ulp."""
    torch = pytest.importorskip("torch")
    z = np.linspace(-12, 12, 4801).astype(np.float32)
    t = torch.tensor(z, requires_grad=True)
    out = {"gelu": torch.nn.GELU(), "mish": torch.nn.Mish()}[name](t)
    out.sum().backward()
    a = np.empty_like(z)
    get_activation(name).fn(np, z.copy(), a)
    d = np.empty_like(z)
    get_activation(name).grad(np, z.copy(), a.copy(), d)
    np.testing.assert_allclose(a, out.detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(d, t.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_small_and_large_arrays_agree():
    """GELU's Φ takes libm's erfc per value for small NumPy arrays and Cephes' rational approximations for
    large ones (and on CuPy): both must be the same function to float64 precision."""
    z = np.concatenate([_points(), [0.0]])
    big = np.tile(z, 8)
    assert big.size > activations.SMALL_CDF >= z.size
    f, df = CLOSED_FORMS["gelu"]
    np.testing.assert_allclose(value("gelu", big), f(big), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(derivative("gelu", big), df(big), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(value("gelu", big)[:z.size], value("gelu", z), rtol=1e-13, atol=1e-16)


@pytest.mark.gpu
@pytest.mark.parametrize("name", ["gelu", "mish"])
def test_cupy_matches_numpy(name):
    """On CuPy (no per-value path, no ufunc ``where``) GELU and Mish equal the NumPy values in float64."""
    from nnplay.engine import gpu_available

    if not gpu_available():
        pytest.skip("needs CuPy and a CUDA device")
    import cupy

    act = get_activation(name)
    for z in (np.concatenate([_points(), [0.0]]), np.tile(np.concatenate([_points(), [0.0, 1000.0, -1000.0]]), 8)):
        zd = cupy.asarray(z)
        a, d = cupy.empty_like(zd), cupy.empty_like(zd)
        act.fn(cupy, zd, a)
        act.grad(cupy, zd, a.copy(), d)
        np.testing.assert_allclose(cupy.asnumpy(a), value(name, z), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(cupy.asnumpy(d), derivative(name, z), rtol=1e-12, atol=1e-15)
