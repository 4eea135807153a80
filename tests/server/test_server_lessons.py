"""Lesson routes: presets, comparisons, PNG and GIF rendering, and the embed and compare pages."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from nnplay.engine import Trainer
from nnplay.engine.compare import Comparison
from nnplay.engine.presets import PRESETS


def test_presets_list_every_engine_preset_with_its_note(client):
    presets = client.get("/api/presets").json()["presets"]
    assert [p["name"] for p in presets] == list(PRESETS)
    race = next(p for p in presets if p["name"] == "optimizer_race")
    assert len(race["variants"]) == len(race["labels"]) == 4
    assert all(len(p["note"]) > 80 and p["epochs"] > 0 for p in presets)


def test_compare_equals_the_engine_comparison(client):
    body = {"config": {"dataset": "xor", "hidden": [4], "seed": 3},
            "variants": [{"optimizer": "sgd"}, {"optimizer": "adam", "learning_rate": 0.01}], "epochs": 15}
    answer = client.post("/api/compare", json=body).json()
    engine = Comparison(body["config"], body["variants"])
    histories = engine.train(15)
    assert answer["seed"] == 3 and answer["labels"] == engine.labels
    for variant, history in zip(answer["variants"], histories):
        assert [r["train_loss"] for r in variant["history"]] == [r.train_loss for r in history]
    assert answer["variants"][1]["history"][-1]["train_loss"] < answer["variants"][0]["history"][-1]["train_loss"]


@pytest.mark.parametrize("body, field", [
    ({"config": {}, "variants": [{"optimizer": "adam"}], "epochs": 1}, "variants"),
    ({"config": {}, "variants": [{"optimizer": "nope"}, {}], "epochs": 1}, "optimizer"),
    ({"config": {}, "variants": [{}, {}], "epochs": 10**6}, "epochs"),
])
def test_bad_compare_requests_name_the_field(client, body, field):
    response = client.post("/api/compare", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == field


def test_render_answers_a_png_of_the_trained_run(client):
    response = client.post("/api/render", json={"config": {"dataset": "xor", "hidden": [4], "seed": 1},
                                                "epochs": 60, "size": 160})
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    image = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB")).astype(int)
    assert image.shape == (160, 160, 3)
    assert (image[..., 2] > image[..., 0] + 60).mean() > 0.2 and (image[..., 0] > image[..., 2] + 60).mean() > 0.2


def test_render_starts_from_given_weights(client):
    """Drawing the weights of 100 epochs gives the very picture of training those 100 epochs on the server."""
    trainer = Trainer({"dataset": "xor", "hidden": [4], "seed": 1})
    trainer.train(100)
    body = {"config": {"dataset": "xor", "hidden": [4], "seed": 1}, "size": 96, "caption": False}

    def pixels(**fields) -> np.ndarray:
        response = client.post("/api/render", json={**body, **fields})
        assert response.status_code == 200
        return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB")).astype(int)

    given = pixels(weights=trainer.get_weights())
    np.testing.assert_array_equal(given, pixels(epochs=100))
    assert np.abs(given - pixels()).max() > 60  # the untrained network's picture differs visibly


def test_gif_has_the_requested_frames(client):
    response = client.post("/api/render/gif", json={"config": {"dataset": "circle", "seed": 2}, "epochs": 30,
                                                    "frame_step": 10, "size": 80})
    assert response.status_code == 200 and response.headers["content-type"] == "image/gif"
    assert Image.open(io.BytesIO(response.content)).n_frames == int(response.headers["x-frame-count"]) == 4


def test_gif_refuses_too_many_frames(client):
    response = client.post("/api/render/gif", json={"config": {}, "epochs": 400, "frame_step": 1})
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "frame_step"


def test_train_with_zero_epochs_gives_data_and_initial_weights(client):
    answer = client.post("/api/train", json={"config": {"dataset": "xor", "seed": 4}, "epochs": 0,
                                             "include": ["data", "weights"]}).json()
    engine = Trainer({"dataset": "xor", "seed": 4})
    assert answer["epochs_run"] == 0 and answer["data"]["train"] == engine.data.rows("train")
    assert answer["weights"] == engine.get_weights()


@pytest.mark.parametrize("path", ["/embed", "/compare"])
def test_lesson_pages_are_served(client, path):
    response = client.get(path)
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]


@pytest.mark.parametrize("field, value", [("noise", 10), ("dataset", "xor"), ("seed", 4), ("n_samples", 100)])
def test_compare_variants_may_not_change_the_shared_data(client, field, value):
    body = {"config": {"dataset": "circle", "seed": 1}, "variants": [{"optimizer": "adam"}, {field: value}],
            "epochs": 1}
    response = client.post("/api/compare", json=body)
    assert response.status_code == 422
    problem = response.json()["detail"][0]
    assert problem["field"] == field and "share the data" in problem["msg"] and "variants[1]" in problem["msg"]
