"""nnplay.engine.optimizers: the first three updates of every optimiser, by hand (torch.optim's formulas, written out
below) and against torch.optim itself; the defaults; learning-rate schedules against torch's schedulers.

Notation: θ parameters, g gradient, η learning rate, λ weight_decay, t the step (from 1).
"""

import numpy as np
import pytest

from nnplay.engine import OPTIMIZERS, SCHEDULES, Config, Trainer
from nnplay.engine.optimizers import make_optimizer
from nnplay.engine.schedules import get_schedule

NAMES = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"]
THETA0 = np.array([0.5, -1.2, 0.0, 2.0, -0.3])
GRADS = np.array([
    [0.1, -0.4, 0.3, 0.0, 1.5],
    [-0.2, 0.5, 0.25, 0.05, -1.0],
    [0.3, -0.1, -0.6, 0.2, 0.7],
])
LR = 0.1

DEFAULTS = {
    "sgd": {"weight_decay": 0.0},
    "momentum": {"momentum": 0.9, "weight_decay": 0.0},
    "nesterov": {"momentum": 0.9, "weight_decay": 0.0},
    "adagrad": {"eps": 1e-10, "weight_decay": 0.0},
    "rmsprop": {"alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0},
    "adam": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0},
    "adamw": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01},
}
# Non-default hyper-parameters (weight decay included) so that every one of them is seen to be used.
CUSTOM = {
    "sgd": {"weight_decay": 0.1},
    "momentum": {"momentum": 0.5, "weight_decay": 0.1},
    "nesterov": {"momentum": 0.5, "weight_decay": 0.1},
    "adagrad": {"eps": 1e-3, "weight_decay": 0.1},
    "rmsprop": {"alpha": 0.9, "eps": 1e-3, "weight_decay": 0.1},
    "adam": {"beta1": 0.8, "beta2": 0.99, "eps": 1e-3, "weight_decay": 0.1},
    "adamw": {"beta1": 0.8, "beta2": 0.99, "eps": 1e-3, "weight_decay": 0.1},
}


def by_hand(name, hyper, theta0=THETA0, grads=GRADS, lr=LR):
    """The three parameter vectors after steps 1, 2, 3, from torch.optim's documented algorithms."""
    h = {**DEFAULTS[name], **hyper}
    lam = h["weight_decay"]
    theta = theta0.astype(np.float64).copy()
    state = {}
    out = []
    for t, g in enumerate(grads, start=1):
        g = g.astype(np.float64).copy()
        if name != "adamw":
            g = g + lam * theta  # coupled weight decay: g ← g + λθ
        if name == "sgd":
            theta = theta - lr * g  # θ ← θ − ηg
        elif name in ("momentum", "nesterov"):
            mu = h["momentum"]
            b = g if t == 1 else mu * state["b"] + g  # b₁ = g; b ← μb + g
            state["b"] = b
            step = g + mu * b if name == "nesterov" else b  # nesterov: θ ← θ − η(g + μb)
            theta = theta - lr * step
        elif name == "adagrad":
            state["G"] = state.get("G", 0.0) + g * g  # G ← G + g²
            theta = theta - lr * g / (np.sqrt(state["G"]) + h["eps"])  # θ ← θ − ηg / (√G + ε)
        elif name == "rmsprop":
            a = h["alpha"]
            state["E"] = a * state.get("E", 0.0) + (1 - a) * g * g  # E ← αE + (1 − α)g²
            theta = theta - lr * g / (np.sqrt(state["E"]) + h["eps"])  # θ ← θ − ηg / (√E + ε)
        else:  # adam / adamw
            b1, b2 = h["beta1"], h["beta2"]
            if name == "adamw":
                theta = theta * (1 - lr * lam)  # decoupled decay: θ ← θ(1 − ηλ)
            state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * g  # m ← β₁m + (1 − β₁)g
            state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * g * g  # v ← β₂v + (1 − β₂)g²
            m_hat = state["m"] / (1 - b1**t)  # m̂ = m / (1 − β₁ᵗ)
            v_hat = state["v"] / (1 - b2**t)  # v̂ = v / (1 − β₂ᵗ)
            theta = theta - lr * m_hat / (np.sqrt(v_hat) + h["eps"])  # θ ← θ − η m̂ / (√v̂ + ε)
        out.append(theta.copy())
    return out


def engine_steps(name, hyper, theta0=THETA0, grads=GRADS, lr=LR):
    params = theta0.astype(np.float64).copy()
    opt = make_optimizer(np, name, params, **hyper)
    out = []
    for g in grads:
        opt.step(params, g.astype(np.float64).copy(), lr)  # the optimiser may overwrite the gradient
        out.append(params.copy())
    assert opt.t == len(grads)
    return out


def torch_steps(torch, name, hyper, theta0=THETA0, grads=GRADS, lr=LR):
    h = {**DEFAULTS[name], **hyper}
    p = torch.nn.Parameter(torch.tensor(theta0, dtype=torch.float64))
    wd = h["weight_decay"]
    opt = {
        "sgd": lambda: torch.optim.SGD([p], lr=lr, weight_decay=wd),
        "momentum": lambda: torch.optim.SGD([p], lr=lr, momentum=h.get("momentum"), weight_decay=wd),
        "nesterov": lambda: torch.optim.SGD([p], lr=lr, momentum=h.get("momentum"), nesterov=True, weight_decay=wd),
        "adagrad": lambda: torch.optim.Adagrad([p], lr=lr, eps=h.get("eps"), weight_decay=wd),
        "rmsprop": lambda: torch.optim.RMSprop([p], lr=lr, alpha=h.get("alpha"), eps=h.get("eps"), weight_decay=wd),
        "adam": lambda: torch.optim.Adam([p], lr=lr, betas=(h.get("beta1"), h.get("beta2")), eps=h.get("eps"),
                                         weight_decay=wd),
        "adamw": lambda: torch.optim.AdamW([p], lr=lr, betas=(h.get("beta1"), h.get("beta2")), eps=h.get("eps"),
                                           weight_decay=wd),
    }[name]()
    out = []
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        out.append(p.detach().numpy().copy())
    return out


def test_registry_and_defaults():
    assert list(OPTIMIZERS) == NAMES
    for name in NAMES:
        assert OPTIMIZERS[name].params == DEFAULTS[name]
        opt = make_optimizer(np, name, THETA0.copy())
        assert {**opt.hyper, "weight_decay": opt.weight_decay} == DEFAULTS[name]
        # None means "the default" (the config's eps / weight_decay are None unless given)
        opt = make_optimizer(np, name, THETA0.copy(), eps=None, weight_decay=None)
        assert {**opt.hyper, "weight_decay": opt.weight_decay} == DEFAULTS[name]


def test_unknown_name_and_negative_hyper_parameters():
    with pytest.raises(ValueError, match="allowed: sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw"):
        make_optimizer(np, "lbfgs", THETA0.copy())
    with pytest.raises(ValueError, match="weight_decay"):
        make_optimizer(np, "sgd", THETA0.copy(), weight_decay=-0.1)
    with pytest.raises(ValueError, match="eps"):
        make_optimizer(np, "adam", THETA0.copy(), eps=-1e-8)


@pytest.mark.parametrize("variant", ["defaults", "custom"])
@pytest.mark.parametrize("name", NAMES)
def test_first_three_updates_by_hand(name, variant):
    hyper = {} if variant == "defaults" else CUSTOM[name]
    expected = by_hand(name, hyper)
    actual = engine_steps(name, hyper)
    for step, (a, e) in enumerate(zip(actual, expected, strict=True), start=1):
        np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-14, err_msg=f"{name} step {step}")
    assert not np.allclose(actual[0], THETA0)  # it moved


def test_hand_formulas_use_the_defaults_that_matter():
    """The default hyper-parameters change the result (so the by-hand comparison above checks them):
    e.g. momentum 0.9 vs 0.5, Adam's ε = 1e-8 vs 1e-3, AdamW's weight_decay 0.01 vs 0."""
    assert not np.allclose(by_hand("momentum", {})[2], by_hand("momentum", {"momentum": 0.5})[2])
    assert not np.allclose(by_hand("adam", {})[2], by_hand("adam", {"eps": 1e-3})[2])
    assert not np.allclose(by_hand("adamw", {})[2], by_hand("adamw", {"weight_decay": 0.0})[2])
    assert not np.allclose(by_hand("rmsprop", {})[2], by_hand("rmsprop", {"alpha": 0.9})[2])


@pytest.mark.parametrize("name", NAMES)
def test_reset_forgets_state(name):
    params = THETA0.copy()
    opt = make_optimizer(np, name, params)
    for g in GRADS:
        opt.step(params, g.copy(), LR)
    opt.reset()
    assert opt.t == 0
    restart = params.copy()
    opt.step(params, GRADS[0].copy(), LR)
    np.testing.assert_allclose(params, by_hand(name, {}, theta0=restart, grads=GRADS[:1])[0], rtol=1e-12, atol=1e-14)


@pytest.mark.torch
@pytest.mark.parametrize("variant", ["defaults", "custom"])
@pytest.mark.parametrize("name", NAMES)
def test_first_three_updates_match_torch(name, variant):
    torch = pytest.importorskip("torch")
    hyper = {} if variant == "defaults" else CUSTOM[name]
    pairs = zip(engine_steps(name, hyper), torch_steps(torch, name, hyper), strict=True)
    for step, (a, e) in enumerate(pairs, start=1):
        np.testing.assert_allclose(a, e, rtol=0, atol=1e-9, err_msg=f"{name} step {step}")


@pytest.mark.torch
def test_defaults_are_torch_defaults():
    """Every default in the table is torch.optim's own, read from a fresh torch optimiser; momentum's 0.9 is
    nnplay's (torch's SGD has momentum 0, off)."""
    torch = pytest.importorskip("torch")
    p = [torch.nn.Parameter(torch.zeros(1))]
    made = {"sgd": torch.optim.SGD(p), "momentum": torch.optim.SGD(p), "nesterov": torch.optim.SGD(p),
            "adagrad": torch.optim.Adagrad(p), "rmsprop": torch.optim.RMSprop(p), "adam": torch.optim.Adam(p),
            "adamw": torch.optim.AdamW(p)}
    for name, optimizer in made.items():
        ref = optimizer.defaults
        expected = {"weight_decay": ref["weight_decay"], "eps": ref.get("eps"), "alpha": ref.get("alpha"),
                    "beta1": ref.get("betas", (None,))[0], "beta2": ref.get("betas", (None, None))[1],
                    "momentum": 0.9}
        assert OPTIMIZERS[name].params == {k: expected[k] for k in OPTIMIZERS[name].params}, name
    assert made["adamw"].defaults["weight_decay"] == 0.01 and made["sgd"].defaults["momentum"] == 0


def test_a_run_without_weight_decay_given_gets_its_optimizers_default():
    """The config leaves weight_decay unset (None), and each optimiser then decays by its own default; the
    schema's description says the same."""
    for name in NAMES:
        assert Trainer({"optimizer": name, "seed": 0}).optimizer.weight_decay == DEFAULTS[name]["weight_decay"]
    assert Trainer({"optimizer": "adamw", "weight_decay": 0, "seed": 0}).optimizer.weight_decay == 0
    assert Config.model_fields["weight_decay"].description == "default: 0 (AdamW 0.01)"
    assert Config.model_fields["eps"].description == "default: 1e-08 (Adagrad 1e-10)"
    config = Config()
    assert (config.momentum, config.beta1, config.beta2, config.alpha) == (0.9, 0.9, 0.999, 0.99)


# --------------------------------------------------------------------------------------------- schedules
SCHEDULE_CASES = {
    "constant": {},
    "step": {"lr_step_size": 3, "lr_gamma": 0.5},
    "exponential": {"lr_gamma": 0.8},
    "cosine": {"lr_t_max": 7, "lr_eta_min": 0.001},
}


def test_schedules_closed_forms():
    assert list(SCHEDULES) == list(SCHEDULE_CASES)
    lr = 0.1
    for e in range(12):
        assert get_schedule("constant")(lr, e) == lr
        assert get_schedule("step")(lr, e, **SCHEDULE_CASES["step"]) == pytest.approx(lr * 0.5 ** (e // 3))
        assert get_schedule("exponential")(lr, e, **SCHEDULE_CASES["exponential"]) == pytest.approx(lr * 0.8**e)
        cos = 0.001 + (lr - 0.001) * (1 + np.cos(np.pi * e / 7)) / 2
        assert get_schedule("cosine")(lr, e, **SCHEDULE_CASES["cosine"]) == pytest.approx(cos)


@pytest.mark.torch
@pytest.mark.parametrize("name", list(SCHEDULE_CASES))
def test_schedules_match_torch(name):
    torch = pytest.importorskip("torch")
    lr, params = 0.1, SCHEDULE_CASES[name]
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    sched = {
        "constant": lambda: torch.optim.lr_scheduler.LambdaLR(opt, lambda e: 1.0),
        "step": lambda: torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5),
        "exponential": lambda: torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.8),
        "cosine": lambda: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=7, eta_min=0.001),
    }[name]()
    for epoch in range(12):  # cosine runs past T_max, where it rises again
        assert get_schedule(name)(lr, epoch, **params) == pytest.approx(sched.get_last_lr()[0], rel=1e-9, abs=1e-12)
        opt.step()
        sched.step()
