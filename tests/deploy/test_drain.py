"""SIGTERM drains an instance: new work refused with 503, sessions closed with 1012, background runs
finished within the grace period (or cancelled after it), /api/health saying so, then the process exits."""

from __future__ import annotations

import json
import subprocess
from importlib.metadata import version

import pytest
from deploy_helpers import Instance, get_json, post_json, wait_until

websockets_sync = pytest.importorskip("websockets.sync.client")
from websockets.exceptions import ConnectionClosed, InvalidStatus  # noqa: E402

# 5000 points through seven features and six layers: a few milliseconds an epoch, so these runs are
# still training when the signal comes.
BIG = {"dataset": "spiral", "n_samples": 5000, "features": ["x1", "x2", "x1_sq", "x2_sq", "x1_x2", "sin_x1", "sin_x2"],
       "hidden": [8] * 6, "seed": 3}


@pytest.fixture
def instances():
    started: list[Instance] = []

    def start(**overrides: str) -> Instance:
        started.append(Instance(idle_timeout="600", **overrides).start())
        return started[-1]

    yield start
    for instance in started:
        instance.stop()


def ws_url(instance: Instance) -> str:
    return instance.url.replace("http", "ws") + "/ws"


def closed_with(connection, timeout: float = 10.0):
    """The close frame the server sent (reading and dropping whatever came before it)."""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            connection.recv(timeout=timeout)
    return closed.value.rcvd


def test_sigterm_drains_then_exits_after_the_runs_finish(instances):
    instance = instances(drain_grace="120")
    with websockets_sync.connect(ws_url(instance)) as connection:
        assert json.loads(connection.recv(timeout=10))["type"] == "hello"
        status, run, _ = post_json(f"{instance.url}/api/runs", {"config": BIG, "epochs": 400})
        assert status == 202
        status, health = instance.health()
        assert (status, {key: health[key] for key in health if key != "workers"}) == (200, {
            "status": "ready", "version": version("nnplay"), "sessions": 1, "runs": 1,
            "capacity": {"sessions": 64, "runs": 4}, "device": "cpu"})
        instance.terminate()
        close = closed_with(connection)
    assert (close.code, close.reason) == (1012, "server restarting; reconnect")
    status, health = wait_until(lambda: (lambda got: got[1]["sessions"] == 0 and got)(instance.health()), 5,
                                "the closed session leaves the count")
    assert status == 503 and health["status"] == "draining" and health["runs"] == 1

    with pytest.raises(InvalidStatus) as refused:  # a new session: 503 before the upgrade, for the proxy
        with websockets_sync.connect(ws_url(instance)):
            pass
    assert refused.value.response.status_code == 503
    status, body, headers = post_json(f"{instance.url}/api/runs", {"config": BIG, "epochs": 10})
    assert status == 503 and headers["retry-after"] == "5" and "draining" in body["detail"]
    status, body, _ = post_json(f"{instance.url}/api/train", {"config": BIG, "epochs": 1})
    assert status == 503

    polled = []  # the run is still served while it finishes
    while instance.process.poll() is None:
        try:
            polled.append(get_json(f"{instance.url}/api/runs/{run['id']}", timeout=2)[1])
        except OSError:
            break
    assert polled and polled[0]["status"] == "running"
    assert polled[-1]["status"] == "done" and polled[-1]["epochs_done"] == 400, polled[-1]["status"]
    instance.wait(30)


def test_runs_still_training_after_the_grace_period_are_cancelled(instances):
    instance = instances(drain_grace="1")
    status, run, _ = post_json(f"{instance.url}/api/runs", {"config": BIG, "epochs": 5000})
    assert status == 202

    def progress() -> dict:
        return get_json(f"{instance.url}/api/runs/{run['id']}", timeout=2)[1]

    wait_until(lambda: progress()["epochs_done"] > 0, 30, "the run trains")
    instance.terminate()
    polled = []
    while instance.process.poll() is None:
        try:
            polled.append(progress())
        except OSError:
            break
    instance.wait(30)
    assert polled and all(body["status"] in ("running", "cancelled") for body in polled), polled[-1:]
    assert polled[-1]["epochs_done"] < 5000, "the process left before the run could finish"
    cancelled = [body for body in polled if body["status"] == "cancelled"]
    assert all(body["error"] == "cancelled: the server shut down after a drain grace of 1 s" for body in cancelled)


def test_a_drain_waits_until_the_result_of_a_run_that_ended_during_it_is_read(instances):
    """A run that ends during the drain is kept until its client has read how it ended: the instance stays
    up (the proxy still sends the run's polls there) until a poll of the run answers it, then exits."""
    instance = instances(drain_grace="120")
    status, run, _ = post_json(f"{instance.url}/api/runs", {"config": BIG, "epochs": 200})
    assert status == 202
    instance.terminate()

    def ended() -> bool:  # the list leaves results out: it is no poll of the run
        return get_json(f"{instance.url}/api/runs", timeout=2)[1]["runs"][0]["status"] == "done"

    wait_until(ended, 60, "the run ends")
    with pytest.raises(subprocess.TimeoutExpired):
        instance.wait(2)  # still up, for the run's client
    status, polled = get_json(f"{instance.url}/api/runs/{run['id']}")
    assert status == 200 and polled["status"] == "done" and polled["result"]["epochs_run"] == 200
    instance.wait(10)
