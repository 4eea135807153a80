"""Stored networks (POST /api/networks, GET /api/networks/ID, /n/ID): kept, read back exactly, deduplicated,
limited, checked, gone after they expire, with a plain 404 page for an id that names nothing; and a room's
results.csv links each student's network there."""

from __future__ import annotations

import csv
import io
import re
import time
from contextlib import ExitStack

import pytest
from server_helpers import SMALL, TestClient, make_settings
from test_server_rooms import HEADERS, join, open_room, send, wait_for

from nnplay.server.main import create_app


@pytest.fixture
def settings(tmp_path):
    return make_settings(max_network_bytes=4096, max_networks=3, data_dir=tmp_path)


@pytest.fixture
def trained(client):
    """A network as the Export menu writes it: the config, the weights after 5 epochs of training, the epoch."""
    run = client.post("/api/train", json={"config": SMALL, "epochs": 5, "include": ["weights"]}).json()
    return {"format": "nnplay-network", "version": "0.0.0", "epoch": 5, "config": SMALL, "weights": run["weights"]}


def test_a_network_is_kept_under_a_short_id_and_read_back_exactly(client, trained):
    made = client.post("/api/networks", json=trained)
    assert made.status_code == 201, made.text
    kept = made.json()
    assert re.fullmatch(r"[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}", kept["id"])
    assert kept["url"] == f"/n/{kept['id']}"
    back = client.get(f"/api/networks/{kept['id']}").json()
    assert (back["format"], back["epoch"], back["config"], back["weights"]) == (
        "nnplay-network", 5, SMALL, trained["weights"])
    opened = client.get(kept["url"], follow_redirects=False)
    assert (opened.status_code, opened.headers["location"]) == (303, f"/?network={kept['id']}")
    heard = kept["id"].replace("-", "").upper().replace("0", "O").replace("1", "L")
    assert client.get(f"/api/networks/{heard}").json()["weights"] == trained["weights"]


def test_the_same_network_keeps_its_id_and_another_epoch_or_weight_gets_a_new_one(client, trained):
    first = client.post("/api/networks", json=trained).json()["id"]
    assert client.post("/api/networks", json={**trained, "version": "9.9"}).json()["id"] == first
    assert client.post("/api/networks", json={**trained, "epoch": 6}).json()["id"] != first
    changed = [{**layer, "b": [v + 1 for v in layer["b"]]} for layer in trained["weights"]]
    assert client.post("/api/networks", json={**trained, "weights": changed}).json()["id"] != first


def test_a_network_larger_than_the_setting_is_413_naming_it(client, trained):
    layer = {"W": [[0.123456789] * 30] * 30, "b": [0.1] * 30}  # 900 weights: about 11 kB
    wide = {**trained, "config": {**SMALL, "hidden": [30, 30]},
            "weights": [{"W": [[0.1, 0.2]] * 30, "b": [0.1] * 30}, layer, {"W": [[0.1] * 30], "b": [0.0]}]}
    answer = client.post("/api/networks", json=wide)
    assert answer.status_code == 413
    assert "at most 4096 (NNPLAY_MAX_NETWORK_BYTES)" in answer.json()["detail"]
    assert client.get("/api/options").json()["server_limits"]["max_network_bytes"] == 4096


@pytest.mark.parametrize("change, field", [
    ({"weights": [{"W": [[0.1, 0.2]] * 3, "b": [0.0] * 3}]}, "weights"),  # one layer of two
    ({"weights": [{"W": [[0.1, 0.2, 0.3]] * 3, "b": [0.0] * 3}, {"W": [[0.1] * 3], "b": [0.0]}]}, "weights"),
    ({"config": {**SMALL, "activation": "nope"}}, "activation"),
    ({"epoch": -1}, "epoch"),
    ({"format": "something-else"}, "format"),
], ids=["layers", "fan-in", "config", "epoch", "format"])
def test_a_network_that_cannot_be_opened_is_422_naming_the_field(client, trained, change, field):
    answer = client.post("/api/networks", json={**trained, **change})
    assert answer.status_code == 422, answer.text
    problems = answer.json()["detail"]
    assert any(p["field"] == field or field in p["msg"] for p in problems), problems
    assert client.get("/api/networks/zzzzz-zzzzz").status_code == 404


def test_a_full_store_refuses_a_new_network_and_still_answers_a_kept_one(client, trained):
    ids = [client.post("/api/networks", json={**trained, "epoch": n}).json()["id"] for n in range(3)]
    full = client.post("/api/networks", json={**trained, "epoch": 99})
    assert full.status_code == 507 and "at most 3 networks" in full.json()["detail"]
    assert client.post("/api/networks", json={**trained, "epoch": 1}).json()["id"] == ids[1]


@pytest.mark.parametrize("path", ["/n/zzzzz-zzzzz", "/n/not-an-id", "/n/%3Cb%3Ex"])
def test_an_unknown_network_link_is_a_plain_404_page_that_says_so(client, path):
    answer = client.get(path, follow_redirects=False)
    assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")
    assert "This network link does not exist" in answer.text and "kept for 90 days" in answer.text
    assert "<b>" not in answer.text and "<script" not in answer.text
    api = client.get("/api/networks/zzzzz-zzzzz")
    assert api.status_code == 404 and "no network is stored under 'zzzzz-zzzzz'" in api.json()["detail"]


def test_a_network_expires_store_ttl_after_its_last_use_and_opening_it_is_a_use(client, trained):
    store = client.app.state.nnplay.store
    kept = client.post("/api/networks", json=trained).json()
    store.expire(now=time.time() + store.ttl - 60)
    assert client.get(kept["url"], follow_redirects=False).status_code == 303, "kept within the ttl"
    store.expire(now=time.time() + store.ttl + 60)
    assert client.get(kept["url"]).status_code == 404
    assert client.get(f"/api/networks/{kept['id']}").status_code == 404


@pytest.fixture
def sockets():
    with ExitStack() as stack:
        yield stack


@pytest.fixture
def room_client(tmp_path):
    settings = make_settings(max_room_students=3, room_join_rate=20, room_tile_rate=10.0, data_dir=tmp_path)
    with TestClient(create_app(settings)) as c:
        yield c


def test_the_rooms_csv_links_each_students_network_and_the_link_outlives_the_room(room_client, sockets):
    client = room_client
    made = open_room(client)
    ws, _, _ = join(client, sockets, made["code"], "Ada")
    send(ws, type="set", id="lr", values={"learning_rate": 0.3})
    wait_for(ws, "state", lambda s: s["id"] == "lr")
    send(ws, type="step", id="s", n=7)
    wait_for(ws, "state", lambda s: s["id"] == "s")
    answer = client.get(f"/api/rooms/{made['code']}/results.csv", headers=HEADERS(made["key"]))
    [row] = list(csv.DictReader(io.StringIO(answer.text)))
    keyed = client.get(row["network_json"].split("testserver")[1], headers=HEADERS(made["key"])).json()
    link = row["network"].split("testserver")[1]
    assert re.fullmatch(r"/n/[0-9a-z]{5}-[0-9a-z]{5}", link), row["network"]
    assert client.delete(f"/api/rooms/{made['code']}", headers=HEADERS(made["key"])).status_code == 204
    opened = client.get(link, follow_redirects=False)
    assert opened.status_code == 303
    network = client.get(f"/api/networks/{link.removeprefix('/n/')}").json()
    assert network["epoch"] == keyed["epoch"] == 7 and network["config"]["learning_rate"] == 0.3
    assert network["weights"] == keyed["weights"] and network["config"] == keyed["config"]


def test_a_normalized_students_csv_network_carries_its_normalization(room_client, sockets):
    client = room_client
    made = open_room(client, config={**SMALL, "hidden": [4], "normalization": "batch"})
    ws, _, _ = join(client, sockets, made["code"], "Ada")
    send(ws, type="step", id="s", n=3)
    wait_for(ws, "state", lambda s: s["id"] == "s")
    answer = client.get(f"/api/rooms/{made['code']}/results.csv", headers=HEADERS(made["key"]))
    [row] = list(csv.DictReader(io.StringIO(answer.text)))
    keyed = client.get(row["network_json"].split("testserver")[1], headers=HEADERS(made["key"])).json()
    network = client.get(f"/api/networks/{row['network'].split('/n/')[1]}").json()
    norm = network["weights"][0]["norm"]
    assert norm["kind"] == "batch" and len(norm["gamma"]) == 4 and len(norm["running_var"]) == 4
    assert norm["running_mean"] != [0.0] * 4, "the running statistics are the trained ones, not their start"
    assert network["weights"] == keyed["weights"]
