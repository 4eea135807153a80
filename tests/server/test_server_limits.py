"""Limits that keep a public server healthy: request-body size, JSON nesting, float32 range, finished runs."""

from __future__ import annotations

import gc
import json
import time
import weakref

import pytest
from server_helpers import SMALL

from nnplay.engine import Trainer
from nnplay.server.http.schemas import TrainRequest


# ---- request bodies ----------------------------------------------------------------------------------------------
def test_a_body_over_the_limit_is_refused_from_its_content_length(client_for):
    with client_for(max_body_bytes=10_000) as c:
        response = c.post("/api/train", content=b" " * 10_001, headers={"content-type": "application/json"})
    assert response.status_code == 413
    detail = response.json()["detail"]
    assert "10,001 bytes" in detail and "at most 10,000 bytes" in detail and "NNPLAY_MAX_BODY_BYTES" in detail


def test_a_streamed_body_without_content_length_is_stopped_at_the_limit(client_for):
    chunks = (b" " * 4000 for _ in range(100))  # sent chunked: the size is known only while reading
    with client_for(max_body_bytes=10_000) as c:
        response = c.post("/api/train", content=chunks, headers={"content-type": "application/json"})
    assert response.status_code == 413 and "more than 10,000 bytes" in response.json()["detail"]


def test_a_body_at_the_limit_is_read(client_for):
    body = json.dumps({"config": SMALL, "epochs": 1}).encode()
    with client_for(max_body_bytes=len(body)) as c:
        assert c.post("/api/train", content=body, headers={"content-type": "application/json"}).status_code == 200


def test_the_default_limit_holds_5000_points_and_the_largest_networks_weights(settings):
    rows = [[-5.123456789012345, 5.123456789012345, -1.0]] * 2500
    largest = [32] * settings.max_layers
    sizes = [9, *largest, 1]
    weights = [{"W": [[0.123456789012345] * fan_in] * fan_out, "b": [0.1] * fan_out}
               for fan_in, fan_out in zip(sizes, sizes[1:])]
    body = {"config": {"hidden": largest, "custom_points": rows * 2}, "epochs": 1,
            "data": {"train": rows, "test": rows}, "weights": weights}
    assert len(json.dumps(body)) < settings.max_body_bytes


def test_bad_json_is_a_422_naming_the_place(client):
    response = client.post("/api/train", content=b'{"config": {}, "epochs": 1', headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "at byte 26" in response.json()["detail"][0]["msg"]
    not_utf8 = client.post("/api/train", content=b'{"config": "\xff"}', headers={"content-type": "application/json"})
    assert not_utf8.status_code == 422 and not_utf8.json()["detail"][0]["type"] == "json_invalid"


def test_a_deeply_nested_body_is_refused_unparsed(client):
    response = client.post("/api/train", content=b"[" * 100_000, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "100000 levels" in response.json()["detail"][0]["msg"]


def test_validation_errors_are_capped(client):
    rows = [["x", "y", "z"]] * 1000
    response = client.post("/api/train", json={"config": {}, "epochs": 1, "data": {"train": rows}})
    assert response.status_code == 422 and len(response.json()["detail"]) == 20


# ---- float32 ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["W", "b"])
def test_weights_beyond_float32_are_a_422_naming_the_field(client, where):
    weights = [{"W": [[0.1, 0.2]], "b": [0.0]}]
    weights[0][where][0] = [3.5e38, 0.2] if where == "W" else 3.5e38
    response = client.post("/api/train", json={"config": {"hidden": [], "seed": 1}, "epochs": 1, "weights": weights})
    assert response.status_code == 422
    problem = response.json()["detail"][0]
    assert problem["field"] == "weights" and problem["value"] == 3.5e38 and "float32" in problem["msg"]
    assert problem["loc"][:4] == ["body", "weights", 0, where]


def test_points_beyond_float32_are_a_422_naming_the_field(client):
    data = {"train": [[1, 1, 1], [0, 0, -1e39]]}
    response = client.post("/api/train", json={"config": {}, "epochs": 1, "data": data})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "data", "train", 1, 2]
    custom = {"dataset": "custom", "custom_points": [[1, 1, 1], [4e38, 0, -1]]}
    response = client.post("/api/train", json={"config": custom, "epochs": 1})
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "custom_points"


def test_a_ragged_weight_matrix_is_reported_under_weights(client):
    weights = [{"W": [[0.1, 0.2], [0.3]], "b": [0.0, 0.0]}]
    response = client.post("/api/train", json={"config": {"hidden": [2]}, "epochs": 1, "weights": weights})
    problem = response.json()["detail"][0]
    assert response.status_code == 422 and problem["loc"] == ["body", "weights", 0] and "same number" in problem["msg"]


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # x1² of 3e38 overflows: it diverges
def test_runs_with_huge_but_valid_numbers_answer_get_and_delete(client):
    data = {"train": [[3e38, 3e38, 1], [-3e38, 0, -1]], "test": [[3e38, -3e38, 1]]}
    request = {"config": {"hidden": [2], "features": ["x1", "x2", "x1_sq"]}, "epochs": 3, "data": data,
               "include": ["history", "weights", "grid", "data"]}
    trained = client.post("/api/train", json=request)
    assert trained.status_code == 200 and trained.json()["status"] == "diverged"
    run_id = client.post("/api/runs", json=request).json()["id"]
    deadline = time.monotonic() + 10
    while (info := client.get(f"/api/runs/{run_id}")).json()["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert info.status_code == 200 and info.json()["status"] == "done"
    assert client.delete(f"/api/runs/{run_id}").status_code == 200


# ---- finished background runs ---------------------------------------------------------------------------------
def finish(client, request: dict) -> str:
    run_id = client.post("/api/runs", json=request).json()["id"]
    deadline = time.monotonic() + 20
    while client.get(f"/api/runs/{run_id}").json()["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return run_id


def kept(client, ids: list[str]) -> list[bool]:
    return [client.get(f"/api/runs/{run_id}").status_code == 200 for run_id in ids]


def test_finished_runs_are_capped_by_count_oldest_first(client_for):
    with client_for(max_finished_runs=2) as c:
        ids = [finish(c, {"config": SMALL, "epochs": 2}) for _ in range(4)]
        assert list(c.app.state.nnplay.runs.runs) == ids[2:]
        assert [r["id"] for r in c.get("/api/runs").json()["runs"]] == ids[2:]
        assert kept(c, ids) == [True] * 4  # the evicted ones are read back from the store


def test_finished_runs_are_capped_by_bytes_oldest_first(client_for):
    request = {"config": SMALL, "epochs": 2, "include": ["grid"], "density": 60}
    with client_for() as c:
        size = len(json.dumps(c.post("/api/train", json=request).json(), separators=(",", ":")))
    with client_for(max_finished_run_bytes=int(2.5 * size)) as c:
        ids = [finish(c, request) for _ in range(4)]
        assert list(c.app.state.nnplay.runs.runs) == ids[2:]
        assert kept(c, ids) == [True] * 4  # the evicted ones are read back from the store
    with client_for(max_finished_run_bytes=size // 2) as c:  # the newest is kept even when alone too large
        ids = [finish(c, request) for _ in range(2)]
        assert list(c.app.state.nnplay.runs.runs) == ids[1:]


def test_a_finished_run_keeps_neither_its_trainer_nor_its_request(client):
    runs = client.app.state.nnplay.runs
    request = TrainRequest.model_validate({"config": SMALL, "epochs": 3, "data": {"train": [[1, 1, 1], [0, 0, -1]]}})
    trainer = Trainer(SMALL)
    trainer_ref, request_ref = weakref.ref(trainer), weakref.ref(request)

    async def start(request: TrainRequest, trainer: Trainer) -> str:  # (in the app's event loop)
        return runs.start(request, trainer).id

    run_id = client.portal.call(start, request, trainer)
    del trainer, request
    deadline = time.monotonic() + 10
    while client.get(f"/api/runs/{run_id}").json()["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    gc.collect()
    assert trainer_ref() is None and request_ref() is None
    info = client.get(f"/api/runs/{run_id}").json()
    assert info["epochs_done"] == info["epochs_total"] == 3 and info["result"]["epochs_run"] == 3
