"""REST routes: health, options, POST /api/train, background runs, the page, OpenAPI, bad input."""

from __future__ import annotations

import os
import time
from importlib.metadata import version

import numpy as np
import pytest
from server_helpers import C1, SMALL, live, make_settings

from nnplay.engine import ACTIVATIONS, DATASETS, FEATURES, LIVE_FIELDS, LOSSES, OPTIMIZERS, SCHEDULES, Config, Trainer
from nnplay.server.main import create_app
from nnplay.server.settings import Settings


# ---- health and options ------------------------------------------------------------------------------------------
def test_health_reports_status_version_and_load(client):
    """The version is the installed distribution's (pyproject's, from nnplay.engine.__version__)."""
    body = client.get("/api/health").json()
    worker = {"index": 0, "pid": os.getpid(), "state": "ready", "sessions": 0, "restarts": 0, "last_exit": None}
    assert body == {"status": "ready", "version": version("nnplay"), "sessions": 0, "runs": 0,
                    "capacity": {"sessions": 64, "runs": 2}, "device": "cpu", "workers": [worker]}


def test_options_are_generated_from_the_engine_registries(client):
    body = client.get("/api/options").json()
    assert [d["name"] for d in body["datasets"]] == list(DATASETS)
    assert [f["name"] for f in body["features"]] == list(FEATURES)
    assert [a["name"] for a in body["activations"]] == list(ACTIVATIONS)
    assert {loss["name"]: loss["tasks"] for loss in body["losses"]} == {k: list(v) for k, v in LOSSES.items()}
    assert {o["name"]: o["params"] for o in body["optimizers"]} == {k: v.params for k, v in OPTIMIZERS.items()}
    assert {s["name"]: s["params"] for s in body["schedules"]} == {k: list(v.params) for k, v in SCHEDULES.items()}
    assert body["defaults"] == Config().model_dump()
    assert set(body["fields"]) == set(Config.model_fields)
    assert body["fields"]["noise"]["maximum"] == 50 and body["fields"]["learning_rate"]["exclusiveMinimum"] == 0
    assert set(body["live_fields"]) == LIVE_FIELDS
    assert body["limits"]["max_neurons"] == 32 and body["limits"]["max_grid_density"] == 200
    assert body["server_limits"]["max_epochs"] == 500  # the test settings' cap
    assert {"min_speed": 1, "max_speed": 1000, "max_fps": 60}.items() <= body["server_limits"].items()
    assert body["menus"]["learning_rate"][0] == 0.00001 and body["menus"]["reg_rate"][0] == 0
    labels = {f["name"]: f["label"] for f in body["features"]}
    assert (labels["x1_sq"], labels["x1_pow3"], labels["x1_pow9"]) == ("X₁²", "X₁³/6²", "X₁⁹/6⁸")  # one notation, scaling shown
    custom = next(d for d in body["datasets"] if d["name"] == "custom")
    assert custom["task"] is None
    for key in ("version", "regularizations", "initializers"):
        assert body[key]


def test_options_view_defaults_are_what_a_new_session_uses(client):
    """The page reads its default speed, fps, density and thumbnail size from /api/options: they must be the
    ones a fresh live session starts with, and the extent the one of the session's plot grid."""
    view = client.get("/api/options").json()["view"]
    with live(client) as (ws, greeting):
        state = greeting["state"]
        header, arrays = greeting["frame"]
    assert state["speed"] == view["speed"]
    assert {k: state["view"][k] for k in ("density", "thumb", "fps")} == {k: view[k] for k in ("density", "thumb", "fps")}
    assert arrays["output"].shape == (view["density"], view["density"])
    assert len(client.get("/api/options").json()["features"][0]["thumbnail"]) == view["feature_thumb"] ** 2
    assert (view["min_variants"], view["max_variants"]) == (2, 4)


@pytest.mark.parametrize("config", [{"dataset": "circle"}, {"dataset": "blobs", "n_classes": 5},
                                    {"problem": "regression", "dataset": "plane"}])
def test_options_output_rule_gives_the_trainers_output_units(client, config):
    rule = client.get("/api/options").json()["output_units"]
    trainer = Trainer(config)
    expected = rule[trainer.task] if isinstance(rule[trainer.task], int) else getattr(trainer.config, rule[trainer.task])
    assert trainer.network.sizes[-1] == expected


def test_options_follow_the_settings_limits(client_for):
    with client_for(max_neurons=64, max_layers=3) as c:
        limits = c.get("/api/options").json()["limits"]
    assert limits["max_neurons"] == 64 and limits["max_layers"] == 3


# ---- POST /api/train ---------------------------------------------------------------------------------------
def test_train_gives_the_engines_numbers_for_the_same_seed(client):
    body = client.post("/api/train", json={"config": C1, "epochs": 40}).json()
    engine = Trainer(C1)
    reports = engine.train(40)
    assert body["status"] == "ok" and body["seed"] == 1 and body["epochs_run"] == 40
    assert body["history"] == [r.model_dump() for r in reports]
    assert body["weights"] == engine.get_weights()
    assert body["final"] == reports[-1].model_dump()
    assert body["sizes"] == [2, 4, 2, 1] and body["task"] == "binary"
    assert "grid" not in body or body["grid"] is None


def test_train_is_deterministic_and_can_include_grid_and_data(client):
    request = {"config": SMALL, "epochs": 5, "include": ["grid", "data"], "density": 20}
    first, second = (client.post("/api/train", json=request).json() for _ in range(2))
    assert first == second
    assert first["history"] is None and first["weights"] is None
    grid = np.array(first["grid"]["values"])
    assert grid.shape == (20, 20) and first["grid"]["density"] == 20
    engine = Trainer(SMALL)
    engine.train(5)
    np.testing.assert_allclose(grid, engine.grid(density=20).values, rtol=1e-6)
    assert first["data"]["train"] == engine.data.rows("train")


def test_train_takes_data_and_initial_weights(client):
    data = {"train": [[-1, -1, -1], [1, 1, 1], [-2, -1, -1], [2, 1, 1]], "test": [[3, 3, 1]]}
    weights = [{"W": [[0.5, -0.5]], "b": [0.1]}]
    request = {"config": {"dataset": "custom", "hidden": [], "seed": 2, "custom_points": data["train"]},
               "epochs": 3, "data": data, "weights": weights}
    body = client.post("/api/train", json=request).json()
    from nnplay.engine import DataSplit

    engine = Trainer(request["config"], data=DataSplit.from_rows(data["train"], data["test"]), weights=weights)
    engine.train(3)
    assert body["weights"] == engine.get_weights()


def test_train_reports_divergence_not_an_error(client):
    config = {"problem": "regression", "dataset": "plane", "hidden": [4], "learning_rate": 10, "seed": 1}
    body = client.post("/api/train", json={"config": config, "epochs": 200}).json()
    engine = Trainer(config)
    reports = engine.train(200)
    assert body["status"] == reports[-1].status == "diverged" and "diverged" in body["message"]
    assert body["history"] == [r.model_dump() for r in reports] and body["epochs_run"] == engine.epoch == 0


# ---- bad input: 422 naming field, value and what is allowed ------------------------------------------------
@pytest.mark.parametrize("request_body, field, value, allowed", [
    ({"config": {"learning_rate": -1}, "epochs": 1}, "learning_rate", -1, "> 0"),
    ({"config": {"activation": "softmaxx"}, "epochs": 1}, "activation", "softmaxx", "tanh"),
    ({"config": {"hidden": [4] * 11}, "epochs": 1}, "hidden", [4] * 11, None),
    ({"config": {"dataset": "plane"}, "epochs": 1}, "dataset", "plane", "circle"),
    ({"config": {"n_samples": 100000}, "epochs": 1}, "n_samples", 100000, None),
    ({"config": {}, "epochs": -1}, "epochs", -1, "0"),
    ({"config": {}, "epochs": 1, "include": ["everything"]}, "include", "everything", "history"),
    ({"config": {}, "epochs": 1, "weights": [{"W": [[1.0]], "b": [0.0]}]}, "weights", None, None),
])
def test_bad_train_requests_get_422_naming_the_field(client, request_body, field, value, allowed):
    response = client.post("/api/train", json=request_body)
    assert response.status_code == 422
    problem = response.json()["detail"][0]
    assert problem["field"] == field
    assert field in problem["msg"]
    if value is not None:
        assert problem["value"] == value
    if allowed is not None:
        assert allowed in problem["allowed"] and allowed in problem["msg"]


def test_the_epoch_cap_is_named_in_the_422(client):
    response = client.post("/api/train", json={"config": {}, "epochs": 501})
    assert response.status_code == 422
    problem = response.json()["detail"][0]
    assert problem["field"] == "epochs" and problem["value"] == 501 and "500" in problem["msg"]


@pytest.mark.parametrize("text", [
    '{"config": {"noise": NaN}, "epochs": 1}',
    '{"config": {"learning_rate": Infinity}, "epochs": 1}',
    '{"config": {}, "epochs": 1, "data": {"train": [[0, 0, NaN]]}}',
    '{"config": {}, "epochs": 1, "weights": [{"W": [[-Infinity]], "b": [0]}]}',
])
def test_nan_and_infinity_in_numbers_are_refused(client, text):
    response = client.post("/api/train", content=text, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "finite" in response.json()["detail"][0]["msg"]


def test_malformed_json_body_is_a_422(client):
    response = client.post("/api/train", content="{nope", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "JSON" in response.json()["detail"][0]["msg"]


def test_grid_density_outside_the_limits_is_refused(client):
    response = client.post("/api/train", json={"config": SMALL, "epochs": 1, "include": ["grid"], "density": 5})
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "density"


# ---- background runs --------------------------------------------------------------------------------------
def wait_done(client, run_id: str, timeout: float = 20.0) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        info = client.get(f"/api/runs/{run_id}").json()
        if info["status"] != "running":
            return info
        time.sleep(0.02)
    raise AssertionError("the run did not finish")


def test_a_background_run_reports_progress_then_the_same_result_as_train(client):
    request = {"config": SMALL, "epochs": 60}
    started = client.post("/api/runs", json=request)
    assert started.status_code == 202
    info = started.json()
    assert info["status"] == "running" and info["epochs_total"] == 60 and info["result"] is None
    done = wait_done(client, info["id"])
    assert done["status"] == "done" and done["epochs_done"] == 60 and done["finished"] >= done["created"]
    assert done["result"] == client.post("/api/train", json=request).json()
    listed = client.get("/api/runs").json()["runs"]
    assert [r["id"] for r in listed] == [info["id"]] and listed[0]["result"] is None


def test_a_background_run_can_be_cancelled(client):
    run_id = client.post("/api/runs", json={"config": C1, "epochs": 500}).json()["id"]
    cancelled = client.delete(f"/api/runs/{run_id}").json()
    assert cancelled["status"] == "cancelled" and cancelled["epochs_done"] < 500
    assert client.get(f"/api/runs/{run_id}").status_code == 404
    assert client.delete(f"/api/runs/{run_id}").status_code == 404


def test_too_many_background_runs_get_429_and_bad_runs_422(client):
    ids = [client.post("/api/runs", json={"config": C1, "epochs": 500}).json()["id"] for _ in range(2)]
    refused = client.post("/api/runs", json={"config": C1, "epochs": 5})
    assert refused.status_code == 429 and "at most 2" in refused.json()["detail"]
    for run_id in ids:
        client.delete(f"/api/runs/{run_id}")
    assert client.post("/api/runs", json={"config": {"loss": "huber"}, "epochs": 5}).status_code == 422
    assert client.post("/api/runs", json={"config": {}, "epochs": 501}).status_code == 422


def test_finished_runs_expire_after_the_ttl(client_for):
    with client_for(run_ttl=0.05) as c:
        run_id = c.post("/api/runs", json={"config": SMALL, "epochs": 2}).json()["id"]
        wait_done(c, run_id)
        time.sleep(0.1)
        assert c.get(f"/api/runs/{run_id}").status_code == 404


def test_unknown_run_is_404(client):
    assert client.get("/api/runs/nope").status_code == 404


# ---- the page, OpenAPI, settings ------------------------------------------------------------------------------
def test_page_is_served_from_the_frontend_directory(client_for, tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>page</title>")
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "main.js").write_text("export {};")
    with client_for(frontend_dir=tmp_path) as c:
        assert "<title>page</title>" in c.get("/").text
        assert c.get("/js/main.js").text == "export {};"
        assert c.get("/js/missing.js").status_code == 404


def test_a_placeholder_page_until_the_frontend_exists(client):
    response = client.get("/")
    assert response.status_code == 200 and "nnplay" in response.text and "/docs" in response.text


def test_openapi_lists_every_route_with_its_models(client):
    schema = client.get("/openapi.json").json()
    assert {"/api/health", "/api/options", "/api/train", "/api/runs", "/api/runs/{run_id}"} <= set(schema["paths"])
    components = schema["components"]["schemas"]
    assert {"TrainRequest", "TrainResult", "RunInfo", "Health", "Options", "EpochReport"} <= set(components)
    config_schema = components["TrainRequest"]["properties"]["config"]
    assert "learning_rate" in config_schema["properties"]
    assert client.get("/docs").status_code == 200
    for message in ("Configure", "SetWeight", "View", "State", "Error", "Hello", "Trace"):  # the /ws messages
        assert message in components
    assert components["SetWeight"]["properties"]["from"]["anyOf"][0]["minimum"] == 0


def test_settings_come_from_nnplay_environment_variables(monkeypatch):
    monkeypatch.setenv("NNPLAY_MAX_EPOCHS", "7")
    monkeypatch.setenv("NNPLAY_ALLOWED_ORIGINS", "http://a.example, http://b.example")
    settings = Settings()
    assert settings.max_epochs == 7 and settings.allowed_origins == ["http://a.example", "http://b.example"]
    monkeypatch.setenv("NNPLAY_ALLOWED_ORIGINS", '["*"]')
    assert Settings().allowed_origins == ["*"]
    assert Settings(max_neurons=8).limits().max_neurons == 8


def test_a_settings_limit_applies_to_training(client_for):
    with client_for(max_layers=1) as c:
        response = c.post("/api/train", json={"config": {"hidden": [2, 2]}, "epochs": 1})
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "hidden"


def test_the_module_level_app_exists():
    from nnplay.server.main import app

    assert app.title == "nnplay"
    assert create_app(make_settings()).state.nnplay.settings.max_epochs == 500
