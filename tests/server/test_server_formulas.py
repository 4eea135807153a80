"""Features written as formulas through the server: the grammar in /api/options, POST /api/feature (the page's
"add a feature" box), 422 over REST and ``error`` on the socket naming the formula and the column, the
non-finite error, and a live session training, tracing and drawing with a formula feature."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from server_helpers import SMALL, live, send, wait_for

from nnplay.engine import Trainer
from nnplay.engine.compare import Comparison
from nnplay.engine.formulas import FUNCTIONS
from nnplay.engine.probes import thumbnail_points

RADIUS = "sqrt(x1^2 + x2^2)"


def test_options_list_what_a_formula_may_use_and_the_limits(client):
    body = client.get("/api/options").json()
    assert [f["name"] for f in body["formulas"]["functions"]] == list(FUNCTIONS)
    assert body["formulas"]["variables"] == ["x1", "x2"] and "^" in body["formulas"]["operators"]
    assert body["limits"]["max_features"] == 16 and body["limits"]["max_formula_length"] == 100


def test_a_formula_is_described_with_its_thumbnail(client):
    body = client.post("/api/feature", json={"formula": f" {RADIUS} "}).json()
    points = thumbnail_points(10)
    assert (body["name"], body["label"], body["dims"], body["url_key"]) == (RADIUS, RADIUS, 2, "")
    np.testing.assert_allclose(body["thumbnail"], np.hypot(points[:, 0], points[:, 1]), atol=1e-4)
    named = client.post("/api/feature", json={"formula": "x1_x2"}).json()
    assert named["label"] == "X₁X₂" and named["url_key"] == "xTimesY"


@pytest.mark.parametrize("formula, needle", [
    ("sqrt(x1^2 + x2^2", "column 17: expected ')' to close sqrt("),
    ("x1 # x2", "column 4: unexpected character '#'"),
    ("log(x1)", "'log(x1)' is nan at (x1, x2) = (-5.4, 5.4)"),
    ("x1 + " * 30 + "x2", "at most 100 characters, got 152"),
])
def test_a_bad_formula_is_a_422_naming_it_and_the_column(client, formula, needle):
    response = client.post("/api/feature", json={"formula": formula})
    assert response.status_code == 422
    problem = response.json()["detail"][0]
    assert problem["field"] == "formula" and needle in problem["msg"], problem["msg"]
    assert problem["value"] == formula.strip()


def test_a_bad_formula_in_a_train_request_is_a_422(client):
    response = client.post("/api/train", json={"config": {**SMALL, "features": ["x1", "x1 ^ ^ 2"]}, "epochs": 1})
    assert response.status_code == 422
    problem = response.json()["detail"][0]
    assert problem["field"] == "features" and "'x1 ^ ^ 2', column 6" in problem["msg"]
    assert "sqrt" in problem["allowed"]
    response = client.post("/api/train", json={"config": {**SMALL, "features": ["x1", "log(x2)"]}, "epochs": 1})
    assert response.status_code == 422 and "'log(x2)' is" in response.json()["detail"][0]["msg"]


def test_a_formula_feature_trains_as_the_engine_does(client):
    config = {**SMALL, "features": ["x1", "x2", "x1*x2"]}
    body = client.post("/api/train", json={"config": config, "epochs": 5}).json()
    engine = Trainer(config)
    engine.train(5)
    assert body["history"][-1]["train_loss"] == pytest.approx(engine.history[-1].train_loss, rel=1e-5)


def test_the_socket_answers_a_bad_formula_with_an_error_and_keeps_the_session(client):
    with live(client) as (ws, greeting):
        send(ws, type="configure", id="bad", config={**SMALL, "features": ["x1", "sin(x1"]})
        error = wait_for(ws, "error")
        assert error["id"] == "bad" and error["field"] == "features" and "column 7" in error["message"]
        send(ws, type="configure", id="nan", config={**SMALL, "features": ["x1", "1/(x1 - x1)"]})
        error = wait_for(ws, "error")
        assert error["id"] == "nan" and "'1/(x1 - x1)' is inf at (x1, x2)" in error["message"]
        send(ws, type="step", id="after")
        state = wait_for(ws, "state", lambda s: s["id"] == "after")
        assert state["config"]["features"] == greeting["state"]["config"]["features"]


def test_a_live_session_trains_traces_and_draws_a_formula_feature(client):
    config = {**SMALL, "features": ["x1", RADIUS]}
    with live(client) as (ws, _):
        send(ws, type="configure", id=1, config=config)
        state = wait_for(ws, "state", lambda s: s["id"] == 1)
        assert state["config"]["features"] == ["x1", RADIUS]
        header, arrays = wait_for(ws, "frame")
        assert np.isfinite(arrays["output"]).all() and arrays["output"].std() > 0
        send(ws, type="inspect", id=3, point=[3.0, -4.0], label=1)
        trace = wait_for(ws, "trace")
        assert trace["features"] == {"x1": pytest.approx(3.0), RADIUS: pytest.approx(5.0)}


def test_a_density_whose_grid_makes_a_formula_infinite_is_an_error_and_the_session_goes_on(client):
    with live(client) as (ws, _):
        send(ws, type="configure", id=1, config={**SMALL, "features": ["x1", "1/x1"]})  # x1 = 0 is no cell centre
        wait_for(ws, "state", lambda s: s["id"] == 1)
        send(ws, type="view", id=2, density=101)  # ... at an odd density it is
        error = wait_for(ws, "error")
        assert error["id"] == 2 and error["field"] == "density"
        assert "'1/x1' is inf at (x1, x2) = (0, 6)" in error["message"]
        send(ws, type="step", id=3)
        state = wait_for(ws, "state", lambda s: s["id"] == 3)
        assert state["epoch"] == 1 and state["view"]["density"] == 100


def test_comparisons_renders_and_the_lesson_carry_formula_features(client):
    body = {"config": {**SMALL, "features": ["x1", "x2"]}, "epochs": 10,
            "variants": [{}, {"features": ["x1", "x2", "x1*x2"]}], "labels": ["plain", "with x1*x2"]}
    answer = client.post("/api/compare", json=body).json()
    engine = Comparison(body["config"], body["variants"], body["labels"])
    histories = engine.train(10)
    for variant, history in zip(answer["variants"], histories, strict=True):
        assert [r["train_loss"] for r in variant["history"]] == [r.train_loss for r in history]
    invented = next(p for p in client.get("/api/presets").json()["presets"] if p["name"] == "spiral_invented")
    response = client.post("/api/render", json={"config": invented["config"], "epochs": 100, "size": 96})
    image = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB")).astype(int)
    # both classes' colours fill the picture: the spiral's two arms, drawn from the written feature
    assert (image[..., 2] > image[..., 0] + 60).mean() > 0.2 and (image[..., 0] > image[..., 2] + 60).mean() > 0.2
