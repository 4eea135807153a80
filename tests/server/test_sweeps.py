"""Sweeps over REST: every result equals a lone POST /api/train with the same config and seed (shape-changing
fields, halving and the process pool included); bad requests are refused, naming the field, the value or the
limit, before any sweep exists; the table reads as JSON and CSV; DELETE cancels."""

from __future__ import annotations

import csv
import io
import math
import multiprocessing
import time

import pytest
from server_helpers import TestClient, make_settings, wait_until

from nnplay.server.main import create_app

BASE = {"dataset": "xor", "n_samples": 80, "batch_size": 8}
GRID = {"learning_rate": [0.01, 0.1], "hidden": [[3], [4, 2]], "optimizer": ["sgd", "adam"]}


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(make_settings(data_dir=tmp_path, sweep_processes=0, sweep_chunk=3))) as c:
        yield c


def finish(client, sweep_id: str, timeout: float = 60.0, **params) -> dict:
    """The sweep once it is no longer queued or running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sweep = client.get(f"/api/sweeps/{sweep_id}", params=params).json()
        if sweep["status"] not in ("queued", "running"):
            return sweep
        time.sleep(0.05)
    raise AssertionError(f"sweep {sweep_id} still {sweep['status']} after {timeout} s")


def lone(client, config: dict, epochs: int) -> dict:
    answer = client.post("/api/train", json={"config": config, "epochs": epochs, "include": ["history"]})
    assert answer.status_code == 200, answer.text
    return answer.json()


def assert_equals_lone(result: dict, run: dict) -> None:
    final = run["final"]
    assert result["epochs_run"] == run["epochs_run"]
    assert result["status"] == run["status"]
    for ours, theirs in (("train_loss", "train_loss"), ("test_loss", "test_loss"), ("accuracy", "test_accuracy")):
        assert result[ours] == pytest.approx(final[theirs], rel=1e-5, abs=1e-7), ours


def test_every_result_equals_a_lone_train_call_with_its_config_and_seed(client):
    answer = client.post("/api/sweeps", json={"config": BASE, "grid": GRID, "seeds": [3, 11], "epochs": 12})
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert accepted["total"] == 16 and len(accepted["combinations"]) == 8
    sweep = finish(client, accepted["id"], history=1)
    assert sweep["status"] == "done" and sweep["done"] == sweep["total"] == 16
    assert sweep["fields"] == ["learning_rate", "hidden", "optimizer"]
    for result in sweep["results"]:
        assert result["seed"] == [3, 11][result["index"] % 2]
        run = lone(client, {**BASE, **result["overrides"], "seed": result["seed"]}, 12)
        assert_equals_lone(result, run)
        assert [p["test_loss"] for p in result["history"]] == pytest.approx([h["test_loss"] for h in run["history"]],
                                                                              rel=1e-5)
        assert f"seed={result['seed']}" in result["link"] and "networkShape=" in result["link"]


def test_halving_keeps_the_best_combinations_and_survivors_equal_lone_runs(client):
    grid = {"learning_rate": [0.003, 0.03, 0.1, 0.3]}
    body = {"config": BASE, "grid": grid, "seeds": 2, "epochs": 20,
            "halving": {"metric": "test_loss", "every": 5, "keep": 0.5}}
    sweep = finish(client, client.post("/api/sweeps", json=body).json()["id"])
    assert sweep["status"] == "done"
    by_combination = {c: [r for r in sweep["results"] if r["combination"] == c] for c in range(4)}
    # rung 1 (epoch 5): the two combinations with the lowest mean test loss over their seeds go on
    at_rung = {c: sum(lone(client, {**BASE, "learning_rate": lr, "seed": s}, 5)["final"]["test_loss"] for s in (0, 1))
               for c, lr in enumerate(grid["learning_rate"])}
    best_two = sorted(at_rung, key=at_rung.get)[:2]
    for c, results in by_combination.items():
        if c in best_two:
            assert all(r["epochs_run"] > 5 for r in results)  # (halved at a later rung, or trained to the end)
        else:
            assert [(r["status"], r["epochs_run"]) for r in results] == [("halved", 5), ("halved", 5)]
    # rung 2 (epoch 10) keeps one of the two; rung 3 (15) keeps it: it trains to the end and equals a lone run
    survivors = [r for r in sweep["results"] if r["status"] != "halved"]
    assert len(survivors) == 2 and {r["epochs_run"] for r in survivors} == {20}
    for result in survivors:
        assert_equals_lone(result, lone(client, {**BASE, **result["overrides"], "seed": result["seed"]}, 20))
    assert sweep["model_epochs"] == 8 * 5 + 4 * 5 + 2 * 5 + 2 * 5


def test_a_random_search_reports_its_draws_and_repeats_them_with_the_same_sampler_seed(client):
    body = {"config": BASE, "random": {"learning_rate": {"log_uniform": [1e-4, 1]}, "reg_rate": {"uniform": [0, 0.01]},
                                       "hidden": {"choice": [[2], [3, 3]]}}, "samples": 6, "sampler_seed": 5,
            "epochs": 2}
    first, second = (client.post("/api/sweeps", json=body).json() for _ in range(2))
    assert first["combinations"] == second["combinations"] and len(first["combinations"]) == 6
    for combo in first["combinations"]:
        assert 1e-4 <= combo["learning_rate"] <= 1 and 0 <= combo["reg_rate"] <= 0.01
        assert combo["hidden"] in ([2], [3, 3])
    assert len({c["learning_rate"] for c in first["combinations"]}) == 6
    other = client.post("/api/sweeps", json={**body, "sampler_seed": 6}).json()
    assert other["combinations"] != first["combinations"]
    for sweep_id in (first["id"], second["id"], other["id"]):
        finish(client, sweep_id)


@pytest.mark.parametrize("body, field, value", [
    ({"grid": {"lerning_rate": [0.1]}}, "grid", "lerning_rate"),
    ({"grid": {"seed": [1, 2]}}, "grid", "seed"),
    ({"grid": {"learning_rate": [0.1, -1]}}, "learning_rate", -1),
    ({"grid": {"activation": ["tanh", "nope"]}}, "activation", "nope"),
    ({"grid": {"hidden": [[4]], "activation": [["tanh", "relu"]]}}, "activation", ["tanh", "relu"]),
    ({"grid": {"hidden": [[4] * 50]}}, "hidden", [4] * 50),
    ({"random": {"learning_rate": {"log_uniform": [0, 1]}}, "samples": 2}, "random", None),
    ({"grid": {"learning_rate": [0.1]}, "seeds": 0}, "seeds", 0),
    ({"grid": {"learning_rate": [0.1]}, "epochs": 501}, "epochs", 501),
    ({"config": {"problem": "regression", "dataset": "plane"}, "halving": {"metric": "accuracy", "every": 1}},
     "metric", "accuracy"),
])
def test_a_bad_request_is_a_422_naming_the_field_and_value_and_starts_nothing(client, body, field, value):
    answer = client.post("/api/sweeps", json={"config": BASE, "epochs": 3, **body})
    assert answer.status_code == 422, answer.text
    problem = answer.json()["detail"][0]
    assert problem["field"] == field or field in problem["loc"]
    if value is not None:
        assert problem["value"] == value
    assert problem["allowed"] or "allowed" in problem["msg"] or "at most" in problem["msg"]
    assert client.get("/api/sweeps").json() == {"sweeps": []}


def test_going_past_a_limit_is_a_422_naming_the_limit(tmp_path):
    settings = make_settings(data_dir=tmp_path, sweep_processes=0, max_sweep_runs=6, max_sweep_model_epochs=100,
                             max_running_sweeps=1)
    with TestClient(create_app(settings)) as client:
        runs = client.post("/api/sweeps", json={"config": BASE, "grid": {"learning_rate": [0.1, 0.2, 0.3, 0.4]},
                                                "seeds": 2, "epochs": 2})
        assert runs.status_code == 422 and runs.json()["detail"][0]["field"] == "max_sweep_runs"
        assert "at most 6" in runs.json()["detail"][0]["allowed"] and runs.json()["detail"][0]["value"] == 8
        epochs = client.post("/api/sweeps", json={"config": BASE, "seeds": 3, "epochs": 40})
        assert epochs.status_code == 422 and epochs.json()["detail"][0]["field"] == "max_sweep_model_epochs"
        assert epochs.json()["detail"][0]["value"] == 120
        slow = client.post("/api/sweeps", json={"config": {**BASE, "n_samples": 500}, "seeds": 2, "epochs": 50})
        assert slow.status_code == 202
        busy = client.post("/api/sweeps", json={"config": BASE, "epochs": 1})
        assert busy.status_code == 422 and busy.json()["detail"][0]["field"] == "max_running_sweeps"
        limits = client.get("/api/options").json()["server_limits"]
        assert (limits["max_sweep_runs"], limits["max_sweep_model_epochs"], limits["max_running_sweeps"]) == (6, 100, 1)
        schema = client.get("/openapi.json").json()["components"]["schemas"]["SweepRequest"]
        assert schema["x-limits"] == {"max_sweep_runs": 6, "max_sweep_model_epochs": 100, "max_running_sweeps": 1}
        client.delete(f"/api/sweeps/{slow.json()['id']}")


def test_the_table_reads_as_csv_with_a_column_per_swept_field(client):
    grid = {"learning_rate": [0.01, 0.1], "hidden": [[3], [4, 2]]}
    sweep_id = client.post("/api/sweeps", json={"config": BASE, "grid": grid, "epochs": 3}).json()["id"]
    sweep = finish(client, sweep_id)
    by_format = client.get(f"/api/sweeps/{sweep_id}?format=csv")
    by_accept = client.get(f"/api/sweeps/{sweep_id}", headers={"Accept": "text/csv"})
    assert by_format.headers["content-type"].startswith("text/csv") and by_format.text == by_accept.text
    rows = list(csv.DictReader(io.StringIO(by_format.text)))
    assert list(rows[0])[:5] == ["learning_rate", "hidden", "index", "combination", "seed"]
    assert [(float(r["learning_rate"]), r["hidden"]) for r in rows] == [(0.01, "[3]"), (0.01, "[4, 2]"),
                                                                         (0.1, "[3]"), (0.1, "[4, 2]")]
    assert [float(r["test_loss"]) for r in rows] == [r["test_loss"] for r in sweep["results"]]


def test_delete_cancels_and_keeps_the_runs_already_finished(client):
    body = {"config": {**BASE, "n_samples": 400}, "grid": {"learning_rate": [0.01 * k for k in range(1, 13)]},
            "epochs": 150}
    sweep_id = client.post("/api/sweeps", json=body).json()["id"]
    deadline = time.monotonic() + 30
    while client.get(f"/api/sweeps/{sweep_id}").json()["done"] < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    cancelled = client.delete(f"/api/sweeps/{sweep_id}").json()
    assert cancelled["status"] == "cancelled"
    sweep = finish(client, sweep_id)
    statuses = [r["status"] for r in sweep["results"]]
    assert sweep["status"] == "cancelled" and 3 <= sweep["done"] < 12
    assert statuses.count("ok") == sweep["done"] and statuses.count("cancelled") == 12 - sweep["done"]
    assert client.delete(f"/api/sweeps/{sweep_id}").json()["status"] == "cancelled"  # a second DELETE forgets it
    assert client.get(f"/api/sweeps/{sweep_id}").status_code == 404
    assert client.delete("/api/sweeps/nope").status_code == 404


def test_the_process_pool_gives_the_same_numbers(tmp_path):
    body = {"config": BASE, "grid": {"learning_rate": [0.03, 0.3], "hidden": [[3], [2, 2]]}, "seeds": 2, "epochs": 8,
            "halving": {"metric": "accuracy", "every": 4, "keep": 0.5}}
    results = []
    for processes in (0, 2):
        settings = make_settings(data_dir=tmp_path / str(processes), sweep_processes=processes, sweep_chunk=2)
        with TestClient(create_app(settings)) as client:
            before = set(multiprocessing.active_children())  # the live sessions' engine workers, if any
            sweep = finish(client, client.post("/api/sweeps", json=body).json()["id"])
            assert sweep["status"] == "done"
            results.append([(r["status"], r["epochs_run"], r["test_loss"]) for r in sweep["results"]])
            # no sweep trains any more: the pool's processes end (they would hold their memory for nothing)
            wait_until(lambda before=before: set(multiprocessing.active_children()) <= before, "the sweep pool ended")
    assert results[0] == results[1]
    assert all(math.isfinite(loss) for _, _, loss in results[0])
