"""Normalization over HTTP: a batch of one with batch norm is a 422 naming batch_size, and weights answered
with γ, β and running estimates come back in (a render from them is the picture of the trained run)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

BATCH_NORM = {"dataset": "xor", "hidden": [4, 3], "seed": 3, "n_samples": 200, "batch_size": 20,
              "normalization": ["batch", "layer"]}


def pixels(content: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(content)) as image:
        return np.asarray(image.convert("RGB")).astype(int)


def test_batch_norm_with_a_batch_of_one_is_422_naming_batch_size(client):
    response = client.post("/api/train", json={"config": {**BATCH_NORM, "batch_size": 1}, "epochs": 1})
    assert response.status_code == 422, response.text
    assert "batch_size: 1 leaves a mini-batch of one row" in response.text
    assert client.post("/api/train", json={"config": {**BATCH_NORM, "normalization": "layer", "batch_size": 1},
                                           "epochs": 1}).status_code == 200


def test_weights_travel_with_their_normalization_state(client):
    trained = client.post("/api/train", json={"config": BATCH_NORM, "epochs": 20, "include": ["weights"]}).json()
    weights = trained["weights"]
    assert set(weights[0]["norm"]) == {"kind", "gamma", "beta", "running_mean", "running_var"}
    assert set(weights[1]["norm"]) == {"kind", "gamma", "beta"} and "norm" not in weights[2]
    size = {"size": 160}
    here = pixels(client.post("/api/render", json={"config": BATCH_NORM, "epochs": 20, **size}).content)
    body = {"config": BATCH_NORM, "weights": weights, "start_epoch": 20, **size}
    response = client.post("/api/render", json=body)
    assert response.status_code == 200, response.text
    assert (pixels(response.content) == here).all()
    bare = [{"W": w["W"], "b": w["b"]} for w in weights]  # without it, the running estimates are fresh ones
    assert (pixels(client.post("/api/render", json={**body, "weights": bare}).content) != here).any()
    wrong = [{**weights[0], "norm": weights[1]["norm"]}, *weights[1:]]
    response = client.post("/api/render", json={**body, "weights": wrong})
    assert response.status_code == 422 and "layer 0 has normalization 'batch'" in response.text
