"""Lesson presets: ready setups for the topics of the lecture notes, each with a note shown beside the plot.

A preset is a config (plus, for comparisons, 2–4 variants of it) and a suggested number of epochs. The
notes say what to look at; the tests train every preset to check it runs and, for most, that it shows
what the note promises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from .registry import lookup

PLAYGROUND_FEATURES = ["x1", "x2", "x1_sq", "x2_sq", "x1_x2", "sin_x1", "sin_x2"]
OVERFIT = {"dataset": "xor", "n_samples": 60, "noise": 40, "train_ratio": 0.5, "features": PLAYGROUND_FEATURES,
           "hidden": [16, 16, 16], "activation": "relu", "optimizer": "adam", "learning_rate": 0.01, "seed": 4}
RADIUS = "sqrt(x1^2+x2^2)"
SPIRAL_FEATURE = f"x1*sin(2.2*{RADIUS}) + x2*cos(2.2*{RADIUS})"  # r·cos(θ − 2.2 r): the spiral's arm as a sign
# six points train, two test: the fewest for a test R² (one point has no variance to explain)
POLY = {"problem": "regression", "dataset": "poly_demo", "hidden": [], "train_ratio": 0.75, "batch_size": 8,
        "features": ["x1", "x1_sq", "x1_pow3", "x1_pow4", "x1_pow5", "x1_pow6", "x1_pow7", "x1_pow8", "x1_pow9"],
        "optimizer": "adam", "learning_rate": 0.05, "activation": "linear", "seed": 4}


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    note: str
    config: dict[str, Any]
    epochs: int = 300
    variants: Optional[list[dict[str, Any]]] = None  # for a comparison: overrides of ``config``
    labels: Optional[list[str]] = None
    tags: tuple[str, ...] = field(default_factory=tuple)

    def __repr__(self) -> str:
        return f"Preset({self.name!r})"


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("linear_gauss", "A single neuron is a linear boundary",
           "Two Gaussian clouds are separated by a straight line, and a network with no hidden layer draws exactly "
           "that: the output is tanh(w·x + b), so its boundary w·x + b = 0 is a line. Watch the two weights turn "
           "the line and the bias shift it.",
           {"dataset": "gauss", "noise": 10, "hidden": [], "seed": 1}, epochs=100, tags=("basics",)),
    Preset("xor_hidden", "XOR needs a hidden layer",
           "No straight line separates XOR's four quadrants, so a network without hidden layers cannot learn it. "
           "With one hidden layer of four tanh neurons each neuron draws a line and the output combines them. "
           "Remove the hidden layer and the network is one straight line again: the test loss stays above 0.5 "
           "and about a third of the points stay on the wrong side.",
           {"dataset": "xor", "hidden": [4], "learning_rate": 0.1, "seed": 2}, epochs=300, tags=("basics",)),
    Preset("xor_feature", "…or the right feature",
           "The feature x1·x2 is positive exactly where XOR's label is, so with it even a single neuron solves "
           "XOR: good features can replace layers.",
           {"dataset": "xor", "hidden": [], "features": ["x1_x2"], "learning_rate": 0.01, "seed": 2}, epochs=50,
           tags=("basics", "features")),
    Preset("spiral_depth", "The spiral needs depth",
           "With only x1 and x2 the two interleaved spirals need three layers of ReLU units: each layer folds "
           "the plane once more. Watch the neurons of deeper layers draw ever more curved regions.",
           {"dataset": "spiral", "hidden": [16, 16, 16], "activation": "relu", "init": "he", "optimizer": "adam",
            "learning_rate": 0.003, "seed": 3}, epochs=800, tags=("depth",)),
    Preset("spiral_sin", "…or sine features",
           "Give the network sin(x1) and sin(x2) and two small layers unroll the spiral: the features already "
           "oscillate the way the arms do.",
           {"dataset": "spiral", "features": ["x1", "x2", "sin_x1", "sin_x2"], "hidden": [8, 8], "seed": 3},
           epochs=300, tags=("depth", "features")),
    Preset("spiral_invented", "Features you invent",
           "Type your own input under the inputs. The spiral's arms turn with the distance from the centre, "
           "r = sqrt(x1^2 + x2^2): the blue arm lies at the angle 2.2·r. The written feature "
           "x1·sin(2.2r) + x2·cos(2.2r) is r·cos(angle − 2.2r): positive on the blue arm, negative on the orange. "
           "With it a single neuron, no hidden layer, passes 95% test accuracy within 100 epochs; with only x1 "
           "and x2 in its place the same neuron stays near 60%.",
           {"dataset": "spiral", "hidden": [], "features": [SPIRAL_FEATURE], "seed": 3}, epochs=100,
           tags=("depth", "features")),
    Preset("zeros_symmetry", "Zero initialisation keeps neurons symmetric",
           "All weights start at 0, so every hidden neuron computes the same value and receives the same gradient: "
           "they stay identical forever and the layer acts as one neuron. Compare the thumbnails, then choose the "
           "playground initialiser under Advanced: the network starts again from random weights and the neurons "
           "go their own ways.",
           {"dataset": "circle", "hidden": [4, 4], "init": "zeros", "seed": 1}, epochs=300, tags=("initialisation",)),
    Preset("lr_too_high", "Too high a learning rate diverges",
           "Full-batch gradient descent on a linear model with a learning rate of 0.3: each step overshoots the "
           "minimum by more than it corrects, so the loss grows about sevenfold every epoch (watch the readouts) "
           "until it overflows, some forty epochs in. Lower the rate to 0.1 and press Play again: training carries "
           "on from the last good weights and the loss falls epoch by epoch.",
           {"problem": "regression", "dataset": "plane", "hidden": [], "activation": "linear", "batch_size": 600,
            "learning_rate": 0.3, "seed": 1}, epochs=50, tags=("optimisation",)),
    Preset("optimizer_race", "Momentum and Adam against plain SGD",
           "Four copies of one network start from the same weights on the same data. Momentum accumulates "
           "velocity along consistent directions; RMSprop and Adam scale each weight's step by its recent "
           "gradient size. Compare how quickly each loss curve falls.",
           {"dataset": "spiral", "features": ["x1", "x2", "sin_x1", "sin_x2"], "hidden": [8, 8], "seed": 5},
           epochs=300,
           variants=[{"optimizer": "sgd"}, {"optimizer": "momentum"},
                     {"optimizer": "rmsprop", "learning_rate": 0.003}, {"optimizer": "adam", "learning_rate": 0.01}],
           labels=["SGD", "SGD + momentum", "RMSprop", "Adam"], tags=("optimisation", "compare")),
    Preset("batch_size", "Batch size: 1, mini-batch, full batch",
           "Single-sample SGD takes many noisy steps per epoch, full-batch gradient descent one smooth step. "
           "The loss curves show the trade-off between gradient quality and the number of updates.",
           {"dataset": "circle", "noise": 20, "hidden": [4, 2], "seed": 6}, epochs=200,
           variants=[{"batch_size": 1}, {"batch_size": 10}, {"batch_size": 250}],
           labels=["batch 1", "batch 10", "full batch"], tags=("optimisation", "compare")),
    Preset("overfit", "Over-fitting: few noisy points, a wide net",
           "Thirty very noisy XOR points, all seven features and three layers of sixteen neurons: the training loss goes to zero while "
           "the test loss climbs after a while. The gap between the curves is the over-fitting.",
           OVERFIT, epochs=600, tags=("generalisation",)),
    Preset("overfit_l2", "…fixed by L2",
           "The same over-fitting setup with an L2 penalty of 0.1: large weights cost loss, the boundary stays "
           "smoother, and the test loss stays closer to the training loss.",
           {**OVERFIT, "regularization": "l2", "reg_rate": 0.1}, epochs=600, tags=("generalisation",)),
    Preset("overfit_dropout", "…fixed by dropout",
           "The same setup with dropout 0.5: during training each hidden neuron is dropped with probability 0.5, "
           "so no neuron can rely on one particular other. Dropout is off when the test loss is measured.",
           {**OVERFIT, "dropout": 0.5}, epochs=600, tags=("generalisation",)),
    Preset("overfit_early_stopping", "…fixed by early stopping",
           "The same setup with early stopping: training stops when the test loss has not improved for 50 epochs "
           "and the weights of the best epoch are restored.",
           {**OVERFIT, "early_stopping": 50}, epochs=600, tags=("generalisation",)),
    Preset("l1_sparsity", "L1 drives weights to zero",
           "With all seven features and an L1 penalty, the weights of features the circle does not need shrink to "
           "zero: the links from sin and x1·x2 fade, and x1², x2² carry the boundary.",
           {"dataset": "circle", "features": PLAYGROUND_FEATURES, "hidden": [4], "regularization": "l1",
            "reg_rate": 0.003, "learning_rate": 0.03, "seed": 7}, epochs=400, tags=("regularisation",)),
    Preset("softmax_three", "Softmax on three classes",
           "Three blobs, three output units and softmax: p_k = e^{s_k} / Σ_j e^{s_j}. The colour shows the winning "
           "class, its strength the probability; cross-entropy's gradient is p − onehot.",
           {"problem": "classification", "dataset": "blobs", "n_classes": 3, "noise": 20, "hidden": [6],
            "loss": "cross_entropy", "seed": 8}, epochs=200, tags=("multiclass",)),
    Preset("hinge_vs_ce", "Hinge versus cross-entropy",
           "The multiclass SVM loss is zero once the right class wins by a margin of 1; cross-entropy keeps "
           "pushing the probabilities towards 1. Same data, same weights, two losses.",
           {"problem": "classification", "dataset": "spiral_multi", "n_classes": 3, "features": PLAYGROUND_FEATURES,
            "hidden": [12, 12], "optimizer": "adam", "learning_rate": 0.01, "seed": 9}, epochs=300,
           variants=[{"loss": "hinge"}, {"loss": "cross_entropy"}], labels=["hinge (SVM)", "softmax cross-entropy"],
           tags=("multiclass", "compare")),
    Preset("poly_fit", "Polynomial regression on the lecture's points",
           "The eight points of the lecture with powers of x up to x⁹ and no hidden layer: linear regression on "
           "polynomial features (the powers scaled to stay within ±6, as their labels say). Six points train it and "
           "two test it: with ninth-degree freedom the curve bends to pass near every training point, and the test "
           "R² falls far below zero.",
           POLY, epochs=1500, tags=("regression", "regularisation")),
    Preset("poly_l2", "…and with L2",
           "The same polynomial with an L2 penalty: the high powers' weights stay small, the curve stays smooth and "
           "the test R² comes close to 1.",
           {**POLY, "regularization": "l2", "reg_rate": 0.1}, epochs=1500, tags=("regression", "regularisation")),
    Preset("vanishing_sigmoid", "Vanishing gradients with sigmoid in a deep net",
           "Eight sigmoid layers: σ' is at most 0.25, so the gradient shrinks by that factor or more at every layer "
           "on its way back. The gradient-norm chart shows the first layers' gradients orders of magnitude below "
           "the last's; switch to ReLU and compare.",
           {"dataset": "circle", "hidden": [8] * 8, "activation": "sigmoid", "seed": 10}, epochs=200,
           tags=("depth", "initialisation")),
    Preset("batch_norm", "Batch normalization",
           "Six layers of eight sigmoid neurons, twice, from the same weights on the same data. Without "
           "normalization the signal fades layer by layer: the output stays near 0 and the test loss stays at "
           "about 0.5, where it began. With batch norm each layer's sums are normalized over the mini-batch to "
           "zero mean and unit variance (then scaled by a learned γ and shifted by β) before the sigmoid, so "
           "every layer works where σ is steep: within 100 epochs the test loss falls below 0.05 and nearly "
           "every point is right. Predictions use the running mean and variance, not the batch's.",
           {"dataset": "circle", "hidden": [8] * 6, "activation": "sigmoid", "learning_rate": 0.03,
            "batch_size": 10, "seed": 12}, epochs=100,
           variants=[{"normalization": "none"}, {"normalization": "batch"}],
           labels=["no normalization", "batch norm"], tags=("depth", "normalization", "compare")),
)}


def get_preset(name: str) -> Preset:
    return lookup(PRESETS, "preset", name)
