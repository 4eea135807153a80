"""Input features computed from the point (x1, x2): the playground's seven, cosines, and powers for 1-D data.

``dims`` says which data a feature applies to: 2 = needs x2 (plane only), 1 = 1-D data only (the
powers), 0 = both. Powers are scaled as x1^k / 6^(k−1) so that every power spans [−6, 6] like x1 itself
(their labels say so: X₁³/6²); unscaled, x1⁹ reaches 10⁷ on [−6, 6] and no usable learning rate trains
it. With them a network with no hidden layer is exactly the lecture's polynomial regression (in a rescaled
basis).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .formulas import check_finite, compile_formula
from .registry import lookup

GRID_EXTENT = 6.0  # the playground's input domain is [−6, 6]²


@dataclass(frozen=True)
class Feature:
    name: str
    label: str
    url_key: str  # the playground's URL hash key where it has one
    dims: int
    fn: Callable[[Any, Any, Any], Any]  # (xp, x1, x2) -> values

    def __repr__(self) -> str:
        return f"Feature({self.name!r})"


SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")  # labels read X₁³ like X₁², not X₁^3


def _power(k: int) -> Feature:
    scale = GRID_EXTENT ** (k - 1)
    label = f"X₁{str(k).translate(SUPERSCRIPTS)}/6{str(k - 1).translate(SUPERSCRIPTS)}"  # says the scaling it has
    return Feature(f"x1_pow{k}", label, f"x1Pow{k}", 1, lambda xp, x1, x2: x1**k / scale)


FEATURES: dict[str, Feature] = {
    f.name: f
    for f in (
        Feature("x1", "X₁", "x", 0, lambda xp, x1, x2: x1),
        Feature("x2", "X₂", "y", 2, lambda xp, x1, x2: x2),
        Feature("x1_sq", "X₁²", "xSquared", 0, lambda xp, x1, x2: x1 * x1),
        Feature("x2_sq", "X₂²", "ySquared", 2, lambda xp, x1, x2: x2 * x2),
        Feature("x1_x2", "X₁X₂", "xTimesY", 2, lambda xp, x1, x2: x1 * x2),
        Feature("sin_x1", "sin(X₁)", "sinX", 0, lambda xp, x1, x2: xp.sin(x1)),
        Feature("sin_x2", "sin(X₂)", "sinY", 2, lambda xp, x1, x2: xp.sin(x2)),
        Feature("cos_x1", "cos(X₁)", "cosX", 0, lambda xp, x1, x2: xp.cos(x1)),
        Feature("cos_x2", "cos(X₂)", "cosY", 2, lambda xp, x1, x2: xp.cos(x2)),
        *(_power(k) for k in range(3, 10)),
    )
}


def get_feature(name: str) -> Feature:
    return lookup(FEATURES, "feature", name)


def is_formula(name: str) -> bool:
    """Whether a config's feature is a formula (engine/formulas.py) rather than a name of the registry."""
    return name not in FEATURES


def resolve_feature(name: str) -> Feature:
    """The registry's feature ``name``, or the :class:`Feature` of the formula ``name`` (compiled once and
    cached; a bad formula raises FormulaError). A formula's label is its text and it has no URL key."""
    if name in FEATURES:
        return FEATURES[name]
    return _formula_feature(name)


def _formula_feature(text: str) -> Feature:
    formula = compile_formula(text)
    return Feature(text, text, "", formula.dims, formula.evaluate)


def features_for(dims: int) -> list[str]:
    """Feature names that apply to data of ``dims`` input dimensions (1 or 2)."""
    return [f.name for f in FEATURES.values() if f.dims in (0, dims)]


def feature_matrix(xp: Any, points: Any, names: list[str], dtype: Any, ones_column: bool = True) -> Any:
    """Stack the named features (registry names or formulas) of ``points`` (rows × 2) into a
    (rows, len(names) [+ 1]) array; a formula that is not finite at some point raises FormulaValueError.

    With ``ones_column`` a last column of ones is appended, so that one matrix product applies a layer's
    weights and bias together: [x, 1] @ [[W], [b]] = xW + b.
    """
    rows = points.shape[0]
    out = xp.empty((rows, len(names) + int(ones_column)), dtype=dtype)
    x1, x2 = points[:, 0], points[:, 1]
    typed = None  # x1, x2 in ``dtype``: formulas compute in the matrix's precision (float32 for training)
    for column, name in enumerate(names):
        if is_formula(name):  # a written formula may reach log(0) or 1/0: refuse it rather than train on NaN
            typed = typed or (x1.astype(dtype), x2.astype(dtype))
            out[:, column] = resolve_feature(name).fn(xp, *typed)
            check_finite(xp, name, out[:, column], x1, x2)
        else:
            out[:, column] = FEATURES[name].fn(xp, x1, x2)
    if ones_column:
        out[:, -1] = 1
    return out
