"""Hidden-layer activations: each value and its derivative side by side, so they cannot drift.

``fn(xp, z, out)`` writes a = f(z) into ``out``; ``grad(xp, z, a, out)`` writes f'(z) into ``out``
(it may use the already computed a = f(z), e.g. tanh' = 1 − a²). Both work in place on preallocated
buffers so the training loop allocates nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .registry import lookup

ONE = np.float32(1)  # an array scalar: a Python 1 costs a tiny ufunc call ~0.35 µs more (batch-1 steps)

LEAKY_SLOPE = 0.01  # torch.nn.LeakyReLU default negative_slope
ELU_ALPHA = 1.0  # torch.nn.ELU default alpha
SQRT_HALF = 0.7071067811865476  # 1/√2: Φ(z) = ½·erfc(−z/√2)
INV_SQRT_2PI = 0.3989422804014327  # 1/√(2π): φ(z) = e^(−z²/2)/√(2π)
MISH_CLIP = 20.0  # tanh(softplus(z)) = 1 − 2e^(−2z) + …, which is 1 in float64 beyond z = 20
MISH_T0 = 0.6  # tanh(softplus(0)) = tanh(ln 2) = 3/5 exactly
SMALL_CDF = 512  # up to this many values (NumPy), libm's erfc value by value beats ~70 vectorised calls' overhead
ERFC_CLIP = 40.0  # erfc(40) = 0 in float64 (underflow past ~27); clipping keeps the polynomials finite


@dataclass(frozen=True)
class Activation:
    name: str
    label: str
    fn: Callable[[Any, Any, Any], Any]
    grad: Callable[[Any, Any, Any, Any], Any]

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"


def sigmoid(xp, z, out):
    """σ(z) = 1 / (1 + e^−z), computed as ½(1 + tanh(z/2)) so it never overflows."""
    xp.multiply(z, 0.5, out=out)
    xp.tanh(out, out=out)
    xp.multiply(out, 0.5, out=out)
    xp.add(out, 0.5, out=out)
    return out


def _relu(xp, z, out):
    return xp.maximum(z, 0, out=out)  # max(0, z)


def _relu_grad(xp, z, a, out):
    return xp.greater(z, 0, out=out)  # 1 if z > 0 else 0


def _tanh(xp, z, out):
    return xp.tanh(z, out=out)


def _tanh_grad(xp, z, a, out):
    xp.multiply(a, a, out=out)  # tanh'(z) = 1 − tanh²(z)
    return xp.subtract(ONE, out, out=out)


def _sigmoid_grad(xp, z, a, out):
    xp.subtract(ONE, a, out=out)  # σ'(z) = σ(z)(1 − σ(z))
    return xp.multiply(out, a, out=out)


def _linear(xp, z, out):
    out[...] = z
    return out


def _linear_grad(xp, z, a, out):
    out.fill(1)
    return out


def _leaky_relu(xp, z, out):
    xp.multiply(z, LEAKY_SLOPE, out=out)  # max(z, 0.01·z)
    return xp.maximum(z, out, out=out)


def _leaky_relu_grad(xp, z, a, out):
    xp.greater(z, 0, out=out)  # 1 if z > 0 else 0.01
    xp.multiply(out, 1 - LEAKY_SLOPE, out=out)
    return xp.add(out, LEAKY_SLOPE, out=out)


def _elu(xp, z, out):
    xp.minimum(z, 0, out=out)  # z if z > 0 else α(e^z − 1); exp only of non-positive values
    xp.expm1(out, out=out)
    xp.multiply(out, ELU_ALPHA, out=out)
    xp.copyto(out, z, where=z > 0)
    return out


def _elu_grad(xp, z, a, out):
    xp.add(a, ELU_ALPHA, out=out)  # 1 if z > 0 else a + α
    xp.copyto(out, 1, where=z > 0)
    return out


def _softplus(xp, z, out):
    return xp.logaddexp(0, z, out=out)  # log(1 + e^z), stable for large |z|


def _softplus_grad(xp, z, a, out):
    return sigmoid(xp, z, out)  # softplus'(z) = σ(z)


def _swish(xp, z, out):
    sigmoid(xp, z, out)  # z·σ(z)  (SiLU)
    return xp.multiply(out, z, out=out)


def _swish_grad(xp, z, a, out):
    sigmoid(xp, z, out)  # σ(z) + z·σ(z)(1 − σ(z)) = a + σ(z)(1 − a)
    xp.multiply(out, 1 - a, out=out)
    return xp.add(out, a, out=out)


def _sine(xp, z, out):
    return xp.sin(z, out=out)


def _sine_grad(xp, z, a, out):
    return xp.cos(z, out=out)


# erf and erfc as Cephes (ndtr.c) computes them: rational approximations accurate to ~1e-16 relative in float64
# (NumPy has no erf; SciPy is not a dependency; see docs/decisions.md). Coefficients from the highest power down.
_ERF_T = (9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3, 7.00332514112805075473e3,
          5.55923013010394962768e4)
_ERF_U = (1.0, 3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3,
          2.26290000613890934246e4, 4.92673942608635921086e4)
_ERFC_P = (2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0,
           4.86371970985681366614e1, 1.96520832956077098242e2, 5.26445194995477358631e2, 9.34528527171957607540e2,
           1.02755188689515710272e3, 5.57535335369399327526e2)
_ERFC_Q = (1.0, 1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2,
           9.75708501743205489753e2, 1.82390916687909736289e3, 2.24633760818710981792e3, 1.65666309194161350182e3,
           5.57535340817727675546e2)
_ERFC_R = (5.64189583547755073984e-1, 1.27536670759978104416e0, 5.01905042251180477414e0, 6.16021097993053585195e0,
           7.40974269950448939160e0, 2.97886665372100240670e0)
_ERFC_S = (1.0, 2.26052863220117276590e0, 9.39603524938001434673e0, 1.20489539808096656605e1,
           1.70814450747565897222e1, 9.60896809063285878198e0, 3.36907645100081516050e0)


_erfc_each = np.frompyfunc(math.erfc, 1, 1)


def _poly(xp, coefficients, x):
    """Horner's rule in the dtype of ``x``."""
    out = xp.full_like(x, coefficients[0])
    for c in coefficients[1:]:
        out *= x
        out += x.dtype.type(c)
    return out


def normal_cdf(xp, z, out):
    """Φ(z), the standard normal CDF, into ``out``: ½(1 + erf(u)) for |u| < 1 and ½·erfc(|u|) (or 1 minus it)
    beyond, u = z/√2, so the lower tail keeps its relative accuracy (GELU(−10) is −7.6e−23, not 0). Small NumPy
    arrays (a mini-batch) take ½·erfc(−z/√2) from libm per value instead: the same function, faster there."""
    if xp is np and z.size <= SMALL_CDF:
        out[...] = _erfc_each(z.astype(np.float64) * -SQRT_HALF)
        out *= 0.5
        return out
    u = xp.abs(z) * z.dtype.type(SQRT_HALF)
    xp.minimum(u, ERFC_CLIP, out=u)
    u2 = u * u
    erf_small = u * _poly(xp, _ERF_T, u2) / _poly(xp, _ERF_U, u2)  # erf(u), exact for u < 1
    near = _poly(xp, _ERFC_P, u) / _poly(xp, _ERFC_Q, u)  # erfc(u)·e^(u²) for 1 ≤ u < 8
    beyond = u >= 8
    if beyond.any():  # rare (|z| ≥ 11.3): skipping it saves a third of the work on small batches
        far = _poly(xp, _ERFC_R, u) / _poly(xp, _ERFC_S, u)  # ... for u ≥ 8
        xp.copyto(near, far, where=beyond)
    tail = near
    xp.negative(u2, out=u2)
    tail *= xp.exp(u2, out=u2)  # erfc(u) = e^(−u²)·(rational in u)
    lower = xp.where(u < 1, 0.5 - 0.5 * erf_small, 0.5 * tail)  # Φ(−|z|)
    xp.subtract(ONE, lower, out=out)  # Φ(z) = 1 − Φ(−z) above 0 (copyto's where: CuPy's ufuncs take none)
    xp.copyto(out, lower, where=z <= 0)
    return out


def _divide_or(xp, a, z, at_zero, out):
    """a/z into ``out``, and ``at_zero`` where z = 0 (the limit of f(z)/z there), without a 0/0 warning."""
    zero = z == 0
    xp.copyto(out, z)
    xp.copyto(out, ONE, where=zero)
    xp.divide(a, out, out=out)
    xp.copyto(out, at_zero, where=zero)
    return out


def _gelu(xp, z, out):
    normal_cdf(xp, z, out)  # z·Φ(z), the exact (erf) GELU as torch.nn.GELU()
    return xp.multiply(out, z, out=out)


def _gelu_grad(xp, z, a, out):
    pdf = xp.clip(z, -ERFC_CLIP, ERFC_CLIP)  # Φ(z) + z·φ(z), with Φ(z) = a/z read from the forward value (Φ(0) = ½);
    pdf *= pdf  # φ(±40) is 0 in float64 already, and the clip keeps z² finite for any float32 z
    pdf *= z.dtype.type(-0.5)
    xp.exp(pdf, out=pdf)
    pdf *= z.dtype.type(INV_SQRT_2PI)
    pdf *= z
    _divide_or(xp, a, z, 0.5, out)
    return xp.add(out, pdf, out=out)


def _mish(xp, z, out):
    """z·tanh(softplus(z)), as torch.nn.Mish, via tanh(log(1 + w)) = w(w + 2) / (w(w + 2) + 2), w = e^z: one exp
    instead of logaddexp and tanh (5× faster). Past z = 20 the fraction is 1 to float64's precision, so z is
    clipped there and e^z never overflows."""
    xp.minimum(z, MISH_CLIP, out=out)
    xp.exp(out, out=out)
    n = out + 2
    n *= out  # w(w + 2)
    xp.add(n, 2, out=out)
    xp.divide(n, out, out=out)
    return xp.multiply(out, z, out=out)


def _mish_grad(xp, z, a, out):
    t = _divide_or(xp, a, z, MISH_T0, xp.empty_like(z))  # t = tanh(softplus(z)) = a/z; f' = t + σ(z)·(z − a·t)
    sigmoid(xp, z, out)
    out *= z - a * t
    return xp.add(out, t, out=out)


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("relu", "ReLU", _relu, _relu_grad),
        Activation("tanh", "Tanh", _tanh, _tanh_grad),
        Activation("sigmoid", "Sigmoid", sigmoid, _sigmoid_grad),
        Activation("linear", "Linear", _linear, _linear_grad),
        Activation("leaky_relu", "Leaky ReLU (0.01)", _leaky_relu, _leaky_relu_grad),
        Activation("elu", "ELU (α = 1)", _elu, _elu_grad),
        Activation("softplus", "Softplus", _softplus, _softplus_grad),
        Activation("swish", "Swish / SiLU", _swish, _swish_grad),
        Activation("sine", "Sine", _sine, _sine_grad),
        Activation("gelu", "GELU", _gelu, _gelu_grad),
        Activation("mish", "Mish", _mish, _mish_grad),
    )
}


def get_activation(name: str) -> Activation:
    return lookup(ACTIVATIONS, "activation", name)
