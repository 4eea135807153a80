"""Config validation: an invalid config raises pydantic.ValidationError whose message names the field and
says what is allowed. Defaults are the issue's (TensorFlow Playground's)."""

import math

import pydantic
import pytest

from nnplay.engine import ACTIVATIONS, DATASETS, FEATURES, INITIALIZERS, OPTIMIZERS, Config, Limits, Trainer, validate_config


def error_text(data, limits=None):
    with pytest.raises(pydantic.ValidationError) as info:
        Config.model_validate(data, context={"limits": limits} if limits else None)
    return str(info.value)


def assert_names(text, field, allowed=()):
    assert field in text, text
    for name in allowed:
        assert name in text, f"{name!r} missing from: {text}"


# -------------------------------------------------------------------------------------------- defaults
def test_defaults():
    c = Config()
    assert (c.problem, c.dataset, c.n_classes, c.noise, c.train_ratio) == ("classification", "circle", 3, 0, 0.5)
    assert (c.features, c.hidden, c.activation, c.loss) == (["x1", "x2"], [4, 2], "tanh", "square")
    assert (c.regularization, c.reg_rate, c.dropout, c.optimizer, c.learning_rate) == ("none", 0, 0, "sgd", 0.03)
    assert (c.lr_schedule, c.batch_size, c.shuffle) == ("constant", 10, False)
    assert (c.init, c.early_stopping) == ("playground", None)
    assert c.samples == 500 and c.task == "binary" and c.activations == ["tanh", "tanh"]
    assert Config(problem="regression", dataset="plane").samples == 1200
    assert Config(problem="regression", dataset="poly_demo", features=["x1"]).samples == 8
    assert Config(dataset="blobs").task == "multiclass"
    assert Config().optimizer_params() == {"weight_decay": None}
    assert Config(optimizer="adamw").optimizer_params() == {"beta1": 0.9, "beta2": 0.999, "eps": None,
                                                           "weight_decay": None}


def test_valid_configs_round_trip_through_json():
    c = Config(dataset="spiral", hidden=[8, 8], activation=["relu", "tanh"], features=list(FEATURES)[:7],
               regularization="elastic", reg_rate=0.01, optimizer="adam", early_stopping=10, seed=3)
    assert Config.model_validate_json(c.model_dump_json()) == c
    assert c.activations == ["relu", "tanh"]


# ------------------------------------------------------------------------------------- choices by name
@pytest.mark.parametrize("field,value,allowed", [
    ("activation", "selu", list(ACTIVATIONS)),
    ("optimizer", "lbfgs", list(OPTIMIZERS)),
    ("init", "ones", list(INITIALIZERS)),
    ("dataset", "moons", [n for n in DATASETS]),
    ("regularization", "l3", ["none", "l1", "l2", "elastic"]),
    ("lr_schedule", "linear", ["constant", "step", "exponential", "cosine"]),
    ("loss", "focal", ["square", "cross_entropy", "hinge", "absolute", "huber"]),
    ("problem", "ranking", ["classification", "regression"]),
])
def test_unknown_names_list_the_allowed_ones(field, value, allowed):
    assert_names(error_text({field: value}), field, [f"'{name}'" for name in allowed])


def test_unknown_activation_in_a_list_and_unknown_feature():
    assert_names(error_text({"hidden": [4, 2], "activation": ["tanh", "selu"]}), "activation", ["'relu'", "'gelu'", "'mish'"])
    assert_names(error_text({"features": ["x1", "x3"]}), "features", ["'x1_x2'", "'cos_x2'", "'x1_pow9'"])


# ------------------------------------------------------------------------------------- combinations
def test_loss_must_fit_the_task():
    assert_names(error_text({"problem": "regression", "dataset": "plane", "loss": "hinge"}), "loss",
                 ["hinge", "square", "absolute", "huber"])
    assert_names(error_text({"problem": "regression", "dataset": "plane", "loss": "cross_entropy"}), "loss",
                 ["square, absolute, huber"])
    assert_names(error_text({"dataset": "circle", "loss": "huber"}), "loss", ["square, cross_entropy, hinge"])
    assert_names(error_text({"dataset": "blobs", "loss": "absolute"}), "loss", ["square, cross_entropy, hinge"])


def test_dataset_must_fit_the_problem():
    text = error_text({"problem": "regression", "dataset": "circle"})
    assert_names(text, "dataset", ["plane", "multi_gauss", "poly_demo", "custom"])
    assert "spiral" not in text.split("allowed")[-1]
    text = error_text({"problem": "classification", "dataset": "plane"})
    assert_names(text, "dataset", ["circle", "xor", "gauss", "spiral", "blobs", "spiral_multi", "custom"])


def test_x2_features_on_1d_data():
    for feature in ("x2", "x1_x2", "sin_x2", "x2_sq"):
        text = error_text({"problem": "regression", "dataset": "poly_demo", "features": ["x1", feature]})
        assert_names(text, "features", [feature, "x1_pow3", "x1_pow9"])
    # and the powers only apply to 1-D data
    assert_names(error_text({"dataset": "circle", "features": ["x1", "x1_pow3"]}), "features", ["x1_pow3", "x1_x2"])
    Config(problem="regression", dataset="poly_demo", features=["x1", "x1_sq", "x1_pow3", "x1_pow9"], hidden=[])


def test_duplicate_features():
    assert "features" in error_text({"features": ["x1", "x1"]})


def test_activation_list_of_wrong_length():
    text = error_text({"hidden": [4, 2], "activation": ["tanh"]})
    assert_names(text, "activation", ["one name per hidden layer", "(2)"])
    assert_names(error_text({"hidden": [4], "activation": ["tanh", "relu"]}), "activation", ["(1)"])
    Config(hidden=[4, 2], activation=["relu", "sine"])


# -------------------------------------------------------------------------------------------- limits
def test_layer_and_neuron_limits_by_default():
    Config(hidden=[32] * 10)
    Config(hidden=[])
    assert_names(error_text({"hidden": [4] * 11}), "hidden", ["at most 10"])
    assert_names(error_text({"hidden": [33]}), "hidden", ["1 to 32"])
    assert_names(error_text({"hidden": [4, 0]}), "hidden", ["1 to 32"])


def test_custom_limits_through_the_validation_context():
    limits = Limits(max_layers=3, max_neurons=64, max_samples=300)
    Config.model_validate({"hidden": [40, 64], "n_samples": 300}, context={"limits": limits})  # above 32 neurons
    assert_names(error_text({"hidden": [8] * 4}, limits), "hidden", ["at most 3"])
    assert_names(error_text({"hidden": [65]}, limits), "hidden", ["1 to 64"])
    assert_names(error_text({"n_samples": 301}, limits), "n_samples", ["between 20 and 300"])
    # the same through validate_config and the Trainer
    assert validate_config({"hidden": [40], "n_samples": 300}, limits).hidden == [40]
    with pytest.raises(pydantic.ValidationError, match="hidden"):
        validate_config({"hidden": [40]})
    assert Trainer({"hidden": [40], "seed": 0, "n_samples": 40}, limits=limits).network.sizes == [2, 40, 1]
    with pytest.raises(pydantic.ValidationError, match="hidden"):
        Trainer({"hidden": [1] * 4, "seed": 0}, limits=limits)


def test_sample_limits():
    assert_names(error_text({"n_samples": 10}), "n_samples", ["between 20 and 5000"])
    assert_names(error_text({"n_samples": 5001}), "n_samples", ["between 20 and 5000"])
    Config(n_samples=20)
    Config(n_samples=5000)


def test_batch_size_limit():
    assert_names(error_text({"batch_size": 0}), "batch_size")
    assert_names(error_text({"batch_size": 6000}), "batch_size", ["5000"])


# --------------------------------------------------------------------------------------------- numbers
@pytest.mark.parametrize("field", ["learning_rate", "reg_rate", "noise", "dropout", "train_ratio", "momentum",
                                   "l1_ratio", "eps", "weight_decay", "lr_gamma", "lr_eta_min"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_inf_are_rejected(field, value):
    assert_names(error_text({field: value}), field, ["finite"])


@pytest.mark.parametrize("field,value,bound", [
    ("dropout", 0.95, "less than or equal to 0.9"), ("dropout", -0.1, "greater than or equal to 0"),
    ("learning_rate", 0, "greater than 0"), ("reg_rate", -1, "greater than or equal to 0"),
    ("noise", 51, "less than or equal to 50"), ("train_ratio", 0.95, "less than or equal to 0.9"),
    ("train_ratio", 0.05, "greater than or equal to 0.1"), ("n_classes", 7, "less than or equal to 6"),
    ("n_classes", 2, "greater than or equal to 3"), ("momentum", 1.0, "less than 1"),
    ("l1_ratio", 1.5, "less than or equal to 1"), ("early_stopping", 0, "greater than or equal to 1"),
    ("seed", -1, "greater than or equal to 0"),
])
def test_out_of_range_numbers(field, value, bound):
    assert_names(error_text({field: value}), field, [bound])


def test_dropout_edges_are_allowed():
    assert Config(dropout=0.9).dropout == 0.9 and Config(dropout=0).dropout == 0


def test_unknown_fields_are_rejected():
    assert_names(error_text({"learning_rat": 0.1}), "learning_rat", ["Extra inputs are not permitted"])


# ---------------------------------------------------------------------------------------------- custom
def test_custom_dataset_needs_points():
    assert_names(error_text({"dataset": "custom"}), "custom_points", ["at least 2 points"])
    assert_names(error_text({"dataset": "custom", "custom_points": [[0, 0, 1]]}), "custom_points")


def test_custom_points_shape_and_values():
    assert_names(error_text({"dataset": "custom", "custom_points": [[0, 0, 1], [1, 1]]}), "custom_points",
                 ["[x1, x2, label]"])
    assert "custom_points" in error_text({"dataset": "custom", "custom_points": [[0, 0, 1], [1, math.nan, -1]]})
    assert "custom_points" in error_text({"dataset": "custom", "custom_points": [[0, 0, 1], [1, 2, math.inf]]})


def test_multiclass_custom_labels_out_of_range():
    text = error_text({"dataset": "custom", "n_classes": 3, "custom_points": [[0, 0, 0], [1, 1, 1], [2, 2, 3]]})
    assert_names(text, "custom_points", ["0..2", "n_classes", "3"])
    text = error_text({"dataset": "custom", "custom_points": [[0, 0, 0], [1, 1, 1.5]]})
    assert_names(text, "custom_points", ["0..2", "1.5"])
    ok = Config(dataset="custom", n_classes=4, custom_points=[[0, 0, 0], [1, 1, 3], [2, 2, 1]])
    assert ok.task == "multiclass"


def test_custom_tasks_from_labels_and_problem():
    binary = Config(dataset="custom", custom_points=[[0, 0, 1], [1, 1, -1]])
    assert binary.task == "binary" and binary.samples == 2
    regression = Config(problem="regression", dataset="custom", custom_points=[[0, 0, 0.37], [1, 1, -12.5]])
    assert regression.task == "regression"
    assert Trainer({"problem": "regression", "dataset": "custom", "seed": 0,
                    "custom_points": [[0, 0, 0.37], [1, 1, -12.5], [2, 0, 3.0]]}).data.n_train == 1


def test_custom_points_beyond_float32_are_rejected():
    points = [[0.0, 1.0, 1.0], [3.5e38, 0.0, -1.0]]
    assert_names(error_text({"dataset": "custom", "custom_points": points}), "custom_points", ["float32", "point 1"])


def test_the_default_sample_count_is_held_to_the_limits_too():
    small = Limits(max_samples=300)
    with pytest.raises(pydantic.ValidationError, match=r"between 20 and 300, got 500 \(the dataset's default"):
        Config.model_validate({"dataset": "spiral"}, context={"limits": small})
    assert Config.model_validate({"dataset": "spiral", "n_samples": 300}, context={"limits": small}).samples == 300
