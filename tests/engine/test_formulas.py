"""Features written as formulas (engine/formulas.py): the grammar's precedence and associativity, the values
against NumPy written by hand, errors with their exact column, the config's checks and limits, non-finite
values refused, and formula features in training, traces and stacked groups."""

from __future__ import annotations

import numpy as np
import pydantic
import pytest

from nnplay.engine import Config, Limits, Trainer, TrainerGroup, group_configs, signature
from nnplay.engine.features import FEATURES, feature_matrix
from nnplay.engine.formulas import FUNCTIONS, FormulaError, FormulaValueError, compile_formula
from engine_helpers import flat

RNG = np.random.default_rng(0)
X1 = RNG.uniform(-6, 6, 200).astype(np.float32)
X2 = RNG.uniform(-6, 6, 200).astype(np.float32)
RADIUS = "sqrt(x1^2+x2^2)"


def values(text: str) -> np.ndarray:
    return compile_formula(text).evaluate(np, X1, X2)


# ------------------------------------------------------------------------------------------- the grammar
@pytest.mark.parametrize("text, by_hand", [
    ("x1*x2", lambda a, b: a * b),
    ("sin(x1*x2)", lambda a, b: np.sin(a * b)),
    ("x1^3 - x2", lambda a, b: a**3 - b),
    ("exp(-(x1^2+x2^2)/4)", lambda a, b: np.exp(-(a**2 + b**2) / 4)),
    ("sqrt(x1^2+x2^2)", lambda a, b: np.sqrt(a**2 + b**2)),
    ("1 + 2*x1", lambda a, b: 1 + 2 * a),                      # * before +
    ("x1 - x2 - 1", lambda a, b: (a - b) - 1),                  # - is left-associative
    ("x1 / x2 / 2", lambda a, b: (a / b) / 2),                  # / is left-associative
    ("2^3^(x1/6)", lambda a, b: 2.0 ** (3.0 ** (a / 6))),                  # ^ is right-associative, as in maths
    ("-x1^2", lambda a, b: -(a**2)),                            # unary minus binds looser than ^
    ("2^-x1", lambda a, b: 2.0 ** (-a)),                        # a signed exponent
    ("- -x1", lambda a, b: a),
    ("x1**2", lambda a, b: a**2),                               # ** reads as ^
    ("3*x1^2/2", lambda a, b: 3 * a**2 / 2),
    ("1e-3*x1 + .5 + 2.", lambda a, b: 1e-3 * a + 0.5 + 2.0),
    ("  x1\t*  ( x2 + 1 )  ", lambda a, b: a * (b + 1)),
    ("atan2(x2, x1)", lambda a, b: np.arctan2(b, a)),
    ("sin(pi*x1) + e", lambda a, b: np.sin(np.pi * a) + np.e),
    ("max(x1, x2) - min(x1, abs(x2))", lambda a, b: np.maximum(a, b) - np.minimum(a, np.abs(b))),
    ("sqrt(2)*x1", lambda a, b: np.sqrt(2) * a),
    ("x1 × x2 − x1 ÷ 2 + 2·x2", lambda a, b: a * b - a / 2 + 2 * b),  # the lecture notes' symbols
])
def test_formulas_equal_numpy_written_by_hand(text, by_hand):
    got = values(text)
    assert got.dtype == np.float32 and got.shape == X1.shape
    with np.errstate(all="ignore"):
        expected = by_hand(X1.astype(np.float64), X2.astype(np.float64))
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-5)


def test_every_function_is_numpys():
    positive = np.abs(X1) / 6 * 0.99  # inside every domain (asin, acos, log, sqrt)
    for name, (arity, _) in FUNCTIONS.items():
        args = "x1, x2" if arity == 2 else "x1"
        got = compile_formula(f"{name}({args})").evaluate(np, positive, X2)
        numpy_name = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "atan2": "arctan2",
                      "min": "minimum", "max": "maximum"}.get(name, name)
        expected = getattr(np, numpy_name)(*((positive, X2) if arity == 2 else (positive,)))
        np.testing.assert_allclose(got, expected, rtol=1e-6, err_msg=name)


def test_a_formula_is_compiled_once_and_knows_its_dimensions():
    assert compile_formula("x1*x2") is compile_formula("x1*x2")
    assert (compile_formula("x1^2").dims, compile_formula("x1 + 0*x2").dims) == (0, 2)


@pytest.mark.parametrize("text, column, problem", [
    ("x1*", 4, "found the end"),
    ("x1 $ 2", 4, "unexpected character '$'"),
    ("sin(x1", 7, "expected ')' to close sin("),
    ("(x1 + x2", 9, "to close the '(' at column 1"),
    ("x1 + foo(x2)", 6, "unknown name 'foo'"),
    ("x1 x2", 4, "expected an operator"),
    ("2x1", 2, "expected an operator"),
    ("atan2(x1)", 1, "atan2 takes 2 arguments, got 1"),
    ("sin x1", 5, "expected '(' after sin"),
    ("x1 + )", 6, "found ')'"),
    ("", 1, "empty formula"),
    ("3 + 4", 1, "neither x1 nor x2"),
    ("__import__(x1)", 1, "unknown name '__import__'"),
    ("x1 + ٣", 6, "unexpected character '٣'"),  # decimal digits are ASCII
    ("-" * 5000 + "x1", 1, "nested too deeply"),
])
def test_errors_name_the_formula_and_the_column(text, column, problem):
    with pytest.raises(FormulaError) as info:
        compile_formula(text)
    message = str(info.value)
    assert info.value.column == column and f"column {column}:" in message and problem in message, message
    assert repr(text) in message and "sqrt" in message and "allowed" in message


# ------------------------------------------------------------------------------------------- the config
def config_error(data: dict, limits: Limits | None = None) -> str:
    with pytest.raises(pydantic.ValidationError) as info:
        Config.model_validate(data, context={"limits": limits} if limits else None)
    return str(info.value)


def test_the_config_accepts_names_and_formulas_and_keeps_names_as_names():
    config = Config(features=["x1", " x1*x2 ", "sqrt(x1^2+x2^2)"])
    assert config.features == ["x1", "x1*x2", "sqrt(x1^2+x2^2)"]
    assert "'x1*)', column 4:" in config_error({"features": ["x1", "x1*)"]})
    assert "unknown feature 'x1_sq2'" in config_error({"features": ["x1_sq2"]})
    assert "'x1*x2' more than once" in config_error({"features": ["x1*x2", "x1 * x2 ".replace(" ", "")]})
    assert "x2" in config_error({"problem": "regression", "dataset": "poly_demo", "features": ["x1", "x1*x2"]})
    Config(problem="regression", dataset="poly_demo", features=["x1", "sin(3*x1)"], hidden=[])


def test_limits_on_features_are_checked():
    limits = Limits(max_features=3, max_formula_length=10)
    assert "at most 3 features, got 4" in config_error({"features": ["x1", "x2", "x1*x2", "x1_sq"]}, limits)
    assert "at most 10 characters, got 11" in config_error({"features": ["x1 + x2 + 1"]}, limits)
    Config.model_validate({"features": ["x1", "x2", "x1+x2+1"]}, context={"limits": limits})


# ------------------------------------------------------------------------------------------- the values
def test_non_finite_values_are_an_error_naming_the_formula_and_the_point():
    points = np.array([[2.0, 1.0], [0.0, 3.0], [-1.0, 0.5]])
    with pytest.raises(FormulaValueError, match=r"'1/x1' is inf at \(x1, x2\) = \(0, 3\)"):
        feature_matrix(np, points, ["x1", "1/x1"], np.float32)
    with pytest.raises(FormulaValueError, match=r"'sqrt\(x1\)' is nan at \(x1, x2\) = \(-1, 0.5\)"):
        feature_matrix(np, points, ["sqrt(x1)"], np.float32)
    with pytest.raises(FormulaValueError, match="is inf"):  # finite in float64, beyond float32's range
        feature_matrix(np, points, ["exp(100*x1)"], np.float32)
    with pytest.raises(FormulaValueError, match="log"):  # the trainer refuses it before training
        Trainer({"features": ["x1", "log(x2)"], "seed": 1})


def test_a_formula_equal_to_a_registry_feature_trains_the_same_run():
    names = {"features": ["x1", "x2", "x1_x2", "sin_x1"], "hidden": [3], "seed": 4, "n_samples": 60}
    formulas = {**names, "features": ["x1", "x2", "x1*x2", "sin(x1)"]}
    points = np.column_stack([X1, X2]).astype(np.float64)
    np.testing.assert_allclose(feature_matrix(np, points, formulas["features"], np.float32),
                               feature_matrix(np, points, names["features"], np.float32), rtol=1e-6)
    a, b = Trainer(names), Trainer(formulas)
    a.train(20), b.train(20)
    np.testing.assert_allclose(flat(a.get_weights()), flat(b.get_weights()), rtol=1e-5, atol=1e-6)
    trace = b.trace([1.0, -2.0], 1)
    assert trace["features"]["x1*x2"] == pytest.approx(-2.0) and trace["features"]["sin(x1)"] == pytest.approx(
        np.sin(1.0))


def test_formula_features_in_a_group_equal_lone_runs_and_are_part_of_the_signature():
    base = {"features": ["x1", "x2", "sqrt(x1^2+x2^2)"], "hidden": [4], "n_samples": 60, "batch_size": 8}
    configs = [{**base, "seed": s, "learning_rate": lr} for s, lr in ((1, 0.03), (2, 0.1))]
    group, lone = TrainerGroup(configs), [Trainer(c) for c in configs]
    group.train(30)
    for member, twin in zip(group.members, lone, strict=True):
        twin.train(30)
        np.testing.assert_allclose(flat(member.get_weights()), flat(twin.get_weights()), rtol=1e-5, atol=1e-6)
    other = {**base, "features": ["x1", "x2", "x1^2+x2^2"]}
    assert signature(base) != signature(other)
    assert group_configs([base, other, base]) == [[0, 2], [1]]


def test_formula_names_are_not_registry_names():
    assert not any(name in FEATURES for name in ("x1*x2", "sqrt(x1^2+x2^2)"))


def test_a_standardized_formula_feature_has_zero_mean_and_unit_variance_on_the_training_set():
    trainer = Trainer({"features": ["x1", RADIUS], "standardize": True, "hidden": [2], "seed": 3, "n_samples": 80})
    column = np.asarray(trainer.x_train)[1]
    assert column.mean() == pytest.approx(0, abs=1e-6) and column.std() == pytest.approx(1, rel=1e-5)
    radius = np.hypot(trainer.data.x_train[:, 0], trainer.data.x_train[:, 1])
    np.testing.assert_allclose(column, (radius - radius.mean()) / radius.std(), rtol=1e-5, atol=1e-6)
