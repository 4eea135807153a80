"""nnplay.engine.losses: each head's output, per-sample value and gradient scale·dL/dz, in float64.

Heads work feature-major, as the engine's docstring states: z, o and y are (n_out, rows), one column per
sample; ``value`` returns (rows,). The gradient is checked against central differences of the mean of
``value`` with respect to every logit, the values against the formulas of the issue written out here, and
(marked torch) both against torch.nn.functional with autograd.
"""

import numpy as np
import pytest

from nnplay.engine import LOSSES
from nnplay.engine.losses import HUBER_DELTA, get_head, losses_for

HEADS = [(name, task) for name, heads in LOSSES.items() for task in heads]
K = 4  # classes in the multiclass checks
H = 1e-6


def head(name, task):
    return get_head(name, task)


def output(h, z):
    out = np.full_like(z, np.nan)
    h.output(np, z.copy(), out)
    return out


def values(h, z, y):
    return h.value(np, z, output(h, z), y)


def gradient(h, z, y, scale):
    out = np.full_like(z, np.nan)
    h.grad(np, z.copy(), output(h, z), y.copy(), scale, out)
    return out


def sample(task, rows=16, seed=0):
    """Logits z and targets y of the task's layout, away from every kink by more than 1e-3."""
    rng = np.random.default_rng(seed)
    if task == "multiclass":
        z = rng.normal(0, 1.5, (K, rows))
        y = np.eye(K)[:, rng.integers(0, K, rows)]
    elif task == "binary":
        z = rng.normal(0, 1.5, (1, rows))
        y = rng.choice([-1.0, 1.0], (1, rows))
    else:
        z = rng.normal(0, 2.0, (1, rows))
        y = rng.normal(0, 2.0, (1, rows))
    return z, y


def kink_distance(name, task, z, y):
    """How far the logits are from the points where the loss is not differentiable."""
    if name == "hinge" and task == "binary":
        return np.abs(1 - y * z).min()
    if name == "hinge" and task == "multiclass":
        margins = z - (z * y).sum(axis=0) + 1
        return np.abs(margins[y == 0]).min()
    if name == "absolute":
        return np.abs(z - y).min()
    if name == "huber":
        return np.abs(np.abs(z - y) - HUBER_DELTA).min()
    return np.inf


def test_registry_losses_per_task():
    assert {name: set(heads) for name, heads in LOSSES.items()} == {
        "square": {"binary", "multiclass", "regression"},
        "cross_entropy": {"binary", "multiclass"},
        "hinge": {"binary", "multiclass"},
        "absolute": {"regression"},
        "huber": {"regression"},
    }
    assert losses_for("binary") == losses_for("multiclass") == ["square", "cross_entropy", "hinge"]
    assert losses_for("regression") == ["square", "absolute", "huber"]
    with pytest.raises(ValueError, match="allowed: square, absolute, huber"):
        get_head("hinge", "regression")
    assert HUBER_DELTA == 1.0  # torch.nn.HuberLoss's default


@pytest.mark.parametrize("name,task", HEADS)
@pytest.mark.parametrize("seed", [0, 1])
def test_gradient_matches_central_differences_of_the_mean_loss(name, task, seed):
    h = head(name, task)
    z, y = sample(task, seed=seed)
    assert kink_distance(name, task, z, y) > 1e-3
    rows = z.shape[1]
    analytic = gradient(h, z, y, 1.0 / rows)
    numeric = np.empty_like(z)
    for index in np.ndindex(*z.shape):
        plus, minus = z.copy(), z.copy()
        plus[index] += H
        minus[index] -= H
        numeric[index] = (values(h, plus, y).mean() - values(h, minus, y).mean()) / (2 * H)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)
    assert np.abs(analytic).max() > 1e-3


@pytest.mark.parametrize("name,task", HEADS)
def test_gradient_is_linear_in_scale(name, task):
    h = head(name, task)
    z, y = sample(task, seed=3)
    np.testing.assert_allclose(gradient(h, z, y, 0.37), 0.37 * gradient(h, z, y, 1.0), rtol=1e-13, atol=1e-15)


def _softmax(z):
    e = np.exp(z - z.max(axis=0))
    return e / e.sum(axis=0)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


@pytest.mark.parametrize("name,task", HEADS)
def test_output_and_value_follow_the_issue(name, task):
    z, y = sample(task, seed=2)
    h = head(name, task)
    o = output(h, z)
    if task == "binary":
        expected_o = {"square": np.tanh(z), "cross_entropy": _sigmoid(z), "hinge": z}[name]
        t = (y + 1) / 2
        expected = {
            "square": 0.5 * (np.tanh(z) - y) ** 2,
            "cross_entropy": -(t * np.log(_sigmoid(z)) + (1 - t) * np.log(1 - _sigmoid(z))),
            "hinge": np.maximum(0, 1 - y * z),
        }[name][0]
    elif task == "multiclass":
        p = _softmax(z)
        label = y.argmax(axis=0)
        expected_o = z if name == "hinge" else p
        if name == "hinge":  # Σ_{j≠y} max(0, s_j − s_y + 1), by a plain loop
            expected = np.array([sum(max(0.0, z[j, i] - z[label[i], i] + 1) for j in range(K) if j != label[i])
                                 for i in range(z.shape[1])])
        elif name == "cross_entropy":
            expected = -np.log(p[label, np.arange(z.shape[1])])
        else:
            expected = 0.5 * ((p - y) ** 2).sum(axis=0)
    else:
        expected_o = z
        d = np.abs(z - y)[0]
        expected = {"square": 0.5 * d**2, "absolute": d,
                    "huber": np.where(d < 1, 0.5 * d**2, d - 0.5)}[name]
    np.testing.assert_allclose(o, expected_o, rtol=1e-12, atol=1e-15)
    v = values(h, z, y)
    assert v.shape == (z.shape[1],)
    np.testing.assert_allclose(v, expected, rtol=1e-12, atol=1e-14)


def test_multiclass_hinge_has_both_active_and_inactive_margins():
    """The multiclass hinge sample above exercises both branches of every max(0, ·)."""
    z, y = sample("multiclass", seed=0)
    margins = (z - (z * y).sum(axis=0) + 1)[y == 0]
    assert (margins > 0).any() and (margins < 0).any()
    # and the gradient: +1 per violated j ≠ y, −(number of violations) at y
    g = gradient(head("hinge", "multiclass"), z, y, 1.0)
    violated = ((z - (z * y).sum(axis=0) + 1) > 0) & (y == 0)
    np.testing.assert_array_equal(g[y == 0], violated[y == 0].astype(float))
    label = y.argmax(axis=0)
    np.testing.assert_array_equal(g[label, np.arange(z.shape[1])], -violated.sum(axis=0))


def test_huber_on_both_sides_of_delta():
    """Residuals −2.5, −1.2, −0.4, 0.3, 0.9, 1.7, 3: ½d² inside |d| < 1, |d| − ½ outside; gradient clip(d, −1, 1);
    central differences agree on both sides."""
    d = np.array([[-2.5, -1.2, -0.4, 0.3, 0.9, 1.7, 3.0]])
    y = np.linspace(-1, 1, d.shape[1])[None, :]
    z = y + d
    h = head("huber", "regression")
    inside = np.abs(d) < 1
    assert inside.any() and (~inside).any()
    np.testing.assert_allclose(values(h, z, y), np.where(inside, 0.5 * d * d, np.abs(d) - 0.5)[0], rtol=1e-13)
    np.testing.assert_allclose(gradient(h, z, y, 1.0), np.clip(d, -1, 1), rtol=1e-13)
    numeric = (values(h, z + H, y) - values(h, z - H, y)) / (2 * H)
    np.testing.assert_allclose(gradient(h, z, y, 1.0)[0], numeric, rtol=1e-6, atol=1e-9)
    # continuous at |d| = δ: ½δ² from inside, δ(δ − ½δ) from outside
    edge = values(h, np.array([[1.0 - 1e-12, 1.0 + 1e-12]]), np.zeros((1, 2)))
    np.testing.assert_allclose(edge, [0.5, 0.5], atol=1e-11)


def test_softmax_square_gradient_is_the_softmax_jacobian_applied():
    """½‖softmax(s) − onehot‖²: dL/ds = (diag p − p pᵀ)(p − onehot), per sample."""
    z, y = sample("multiclass", rows=5, seed=4)
    g = gradient(head("square", "multiclass"), z, y, 1.0)
    for i in range(z.shape[1]):
        p = _softmax(z[:, i])
        jac = np.diag(p) - np.outer(p, p)
        np.testing.assert_allclose(g[:, i], jac @ (p - y[:, i]), rtol=1e-12, atol=1e-15)


def test_cross_entropy_gradients_are_p_minus_y():
    z, y = sample("multiclass", seed=5)
    np.testing.assert_allclose(gradient(head("cross_entropy", "multiclass"), z, y, 1.0), _softmax(z) - y, rtol=1e-12)
    zb, yb = sample("binary", seed=5)
    np.testing.assert_allclose(gradient(head("cross_entropy", "binary"), zb, yb, 1.0), _sigmoid(zb) - (yb + 1) / 2,
                               rtol=1e-12, atol=1e-15)


def test_stable_for_huge_logits():
    """Cross-entropy from the logit and the max-shifted softmax stay finite where the naive formulas overflow."""
    zb = np.array([[-800.0, 800.0, 800.0, -800.0]])
    yb = np.array([[-1.0, 1.0, -1.0, 1.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        vb = values(head("cross_entropy", "binary"), zb, yb)
        zm = np.array([[1000.0, -1000.0], [0.0, 1000.0], [-1000.0, 0.0]])
        ym = np.eye(3)[:, [0, 0]]
        vm = values(head("cross_entropy", "multiclass"), zm, ym)
        pm = output(head("cross_entropy", "multiclass"), zm)
    np.testing.assert_allclose(vb, [0.0, 0.0, 800.0, 800.0], atol=1e-12)
    np.testing.assert_allclose(vm, [0.0, 2000.0], atol=1e-9)
    np.testing.assert_allclose(pm.sum(axis=0), 1.0)


@pytest.mark.torch
@pytest.mark.parametrize("name,task", [(n, t) for n, t in HEADS if (n, t) != ("hinge", "binary")])
def test_matches_torch(name, task):
    """Mean loss and its gradient against torch.nn.functional (binary hinge has no torch counterpart;
    multi_margin_loss divides by the number of classes, so it is scaled back)."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    z, y = sample(task, rows=32, seed=6)
    rows = z.shape[1]
    zt = torch.tensor(z.T.copy(), dtype=torch.float64, requires_grad=True)  # torch: rows × classes
    yt = torch.tensor(y.T.copy(), dtype=torch.float64)
    if task == "binary":
        t = (yt + 1) / 2
        loss = {"square": lambda: 0.5 * F.mse_loss(torch.tanh(zt), yt),
                "cross_entropy": lambda: F.binary_cross_entropy_with_logits(zt, t)}[name]()
    elif task == "multiclass":
        label = yt.argmax(dim=1)
        loss = {"square": lambda: 0.5 * ((torch.softmax(zt, 1) - yt) ** 2).sum(1).mean(),
                "cross_entropy": lambda: F.cross_entropy(zt, label),
                "hinge": lambda: K * F.multi_margin_loss(zt, label, margin=1.0)}[name]()
    else:
        loss = {"square": lambda: 0.5 * F.mse_loss(zt, yt), "absolute": lambda: F.l1_loss(zt, yt),
                "huber": lambda: F.huber_loss(zt, yt, delta=1.0)}[name]()
    loss.backward()
    h = head(name, task)
    assert values(h, z, y).mean() == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(gradient(h, z, y, 1.0 / rows), zt.grad.numpy().T, rtol=1e-10, atol=1e-15)
