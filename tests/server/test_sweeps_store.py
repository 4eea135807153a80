"""Sweeps kept in the store: a finished sweep survives a restart; one stopped by a shutdown or SIGTERM (or whose
instance vanished) keeps its finished runs, reads ``interrupted`` and resumes to the same numbers; old sweeps
expire; a finished background run is found after a restart."""

from __future__ import annotations

import json
import time
import urllib.request

from server_helpers import TestClient, make_settings, serving, wait_until
from test_sweeps import BASE, finish

from nnplay.server.main import create_app
from nnplay.server.store import Store
from nnplay.server.sweeps.tables import SweepTables

LONG = {"config": {**BASE, "n_samples": 400}, "grid": {"learning_rate": [0.01 * k for k in range(1, 11)]},
        "epochs": 120}


def app(tmp_path, **overrides):
    return TestClient(create_app(make_settings(data_dir=tmp_path, sweep_processes=0, sweep_chunk=1, **overrides)))


def test_a_finished_sweep_survives_a_restart(tmp_path):
    body = {"config": BASE, "grid": {"learning_rate": [0.01, 0.1]}, "seeds": 2, "epochs": 5}
    with app(tmp_path) as client:
        sweep = finish(client, client.post("/api/sweeps", json=body).json()["id"], history=1)
    with app(tmp_path) as client:
        assert client.get(f"/api/sweeps/{sweep['id']}", params={"history": 1}).json() == sweep
        assert [s["id"] for s in client.get("/api/sweeps").json()["sweeps"]] == [sweep["id"]]


def test_a_sweep_stopped_by_a_shutdown_keeps_its_runs_and_resumes_to_the_same_numbers(tmp_path):
    with app(tmp_path) as client:
        sweep_id = client.post("/api/sweeps", json=LONG).json()["id"]
        deadline = time.monotonic() + 30
        while client.get(f"/api/sweeps/{sweep_id}").json()["done"] < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    with app(tmp_path) as client:
        stopped = client.get(f"/api/sweeps/{sweep_id}").json()
        assert stopped["status"] == "interrupted" and 2 <= stopped["done"] < 10
        assert "resume" in stopped["error"]
        kept = {r["index"]: r for r in stopped["results"] if r["status"] == "ok"}
        assert {r["status"] for r in stopped["results"] if r["index"] not in kept} == {"pending"}
        assert client.post(f"/api/sweeps/{sweep_id}/resume").status_code == 200
        resumed = finish(client, sweep_id)
        assert resumed["status"] == "done" and resumed["done"] == 10 and resumed["error"] is None
        assert all(resumed["results"][i] == row for i, row in kept.items())  # the kept runs were not trained again
        fresh = finish(client, client.post("/api/sweeps", json=LONG).json()["id"])
        assert [r["test_loss"] for r in resumed["results"]] == [r["test_loss"] for r in fresh["results"]]
        again = client.post(f"/api/sweeps/{sweep_id}/resume")
        assert again.status_code == 409 and "done" in again.json()["detail"]


def test_a_sweep_whose_instance_stopped_beating_reads_interrupted(tmp_path):
    with app(tmp_path) as client:
        store = Store(tmp_path, ttl=3600)
        tables = SweepTables(store)
        meta = {"request": {"config": BASE, "epochs": 3}, "fields": [], "combinations": [{}], "seeds": [0], "epochs": 3}
        tables.create("gone", meta, owner="elsewhere:1:1", now=time.time() - 120)
        tables.set_status("gone", "running", owner="elsewhere:1:1")
        assert client.get("/api/sweeps/gone").json()["status"] == "running"  # its owner beat just now
        store.write("UPDATE sweeps SET beat_at = ? WHERE id = 'gone'", (time.time() - 120,))
        assert client.get("/api/sweeps/gone").json()["status"] == "interrupted"
        assert finish(client, client.post("/api/sweeps/gone/resume").json()["id"])["status"] == "done"
        store.close()


def test_old_sweeps_and_their_runs_expire(tmp_path):
    with app(tmp_path, store_ttl=60) as client:
        sweep_id = finish(client, client.post("/api/sweeps", json={"config": BASE, "epochs": 2}).json()["id"])["id"]
        store = Store(tmp_path, ttl=60)
        SweepTables(store)  # (declares the tables whose rows expire)
        assert store.expire(now=time.time() + 30) == 0
        assert store.expire(now=time.time() + 120) == 1
        assert client.get(f"/api/sweeps/{sweep_id}").status_code == 404
        assert store.read("SELECT COUNT(*) AS n FROM sweep_results")[0]["n"] == 0
        store.close()


def test_a_finished_background_run_is_found_after_a_restart_until_deleted(tmp_path):
    with app(tmp_path) as client:
        run_id = client.post("/api/runs", json={"config": BASE, "epochs": 4}).json()["id"]
        deadline = time.monotonic() + 30
        while (run := client.get(f"/api/runs/{run_id}").json())["status"] == "running" and time.monotonic() < deadline:
            time.sleep(0.02)
    with app(tmp_path) as client:
        after = client.get(f"/api/runs/{run_id}").json()
        assert after == run and after["status"] == "done" and after["result"]["epochs_run"] == 4
        assert client.delete(f"/api/runs/{run_id}").status_code == 200
        assert client.get(f"/api/runs/{run_id}").status_code == 404


def test_sigterm_leaves_a_sweep_interrupted_with_its_runs_kept(tmp_path):
    env = {"NNPLAY_DATA_DIR": str(tmp_path), "NNPLAY_SWEEP_PROCESSES": "1", "NNPLAY_SWEEP_CHUNK": "1",
           "NNPLAY_ENGINE_PROCESSES": "0", "NNPLAY_DRAIN_GRACE": "1"}

    def get(server, path: str) -> dict:
        return json.loads(urllib.request.urlopen(f"{server['http']}{path}", timeout=10).read())

    with serving(env) as server:  # leaves with SIGTERM: the drain, then the lifespan's end
        post = urllib.request.Request(f"{server['http']}/api/sweeps", data=json.dumps(LONG).encode(),
                                      headers={"Content-Type": "application/json"})
        sweep_id = json.loads(urllib.request.urlopen(post, timeout=30).read())["id"]
        wait_until(lambda: get(server, f"/api/sweeps/{sweep_id}")["done"] >= 2, "two runs finished", timeout=60)
    with serving(env) as server:
        sweep = get(server, f"/api/sweeps/{sweep_id}")
        assert sweep["status"] == "interrupted" and 2 <= sweep["done"] < 10
        finished = [r for r in sweep["results"] if r["status"] != "pending"]
        assert len(finished) == sweep["done"] and all(r["status"] == "ok" and r["epochs_run"] == 120 for r in finished)
