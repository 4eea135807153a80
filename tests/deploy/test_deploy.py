"""deploy/: the systemd unit, and nginx in front of two instances, one of which is stopped while pages and a
scripted client use them."""

from __future__ import annotations

import http.client
import shutil
import subprocess
import sys
import urllib.parse

import pytest
from deploy_helpers import (ENV_FILE, INSTALLED_COMMAND, LONG_RUN, UNIT, Instance, Nginx, RollingRestart, env_file,
                            get_json, held_sessions, post_json, unit_settings, wait_until)
from page_helpers import screenshot, server_state, settle


# ---- the systemd unit --------------------------------------------------------------------------------------------
def test_the_unit_restarts_on_failure_and_outlasts_the_drain_grace():
    unit, settings = unit_settings(), env_file()
    assert unit["EnvironmentFile"] == ["/etc/nnplay/nnplay.env"] and unit["Restart"] == ["on-failure"]
    assert unit["ExecStart"][0].startswith(f"{INSTALLED_COMMAND} serve")
    assert float(unit["TimeoutStopSec"][0].removesuffix("s")) > float(settings["NNPLAY_DRAIN_GRACE"])
    assert all(key.startswith("NNPLAY_") for key in settings)


def test_the_store_is_in_the_one_folder_the_sandbox_lets_the_unit_write():
    """ProtectSystem=strict and ProtectHome leave a dynamic user nothing to write but its StateDirectory
    (/var/lib/NAME): the store's folder must be that one, or the instance cannot start."""
    unit, settings = unit_settings(), env_file()
    assert unit["ProtectSystem"] == ["strict"] and unit["DynamicUser"] == ["yes"]
    assert settings["NNPLAY_DATA_DIR"] == f"/var/lib/{unit['StateDirectory'][0]}"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_unit_verifies_and_its_sandbox_exposure_is_low(tmp_path):
    """``systemd-analyze verify`` (syntax, every key known, the command exists) on the unit as installed, with
    this machine's paths for the console script and the settings; ``security`` rates its sandbox."""
    executable = tmp_path / "nnplay"
    executable.write_text(f"#!/bin/sh\nexec {sys.executable} -m nnplay \"$@\"\n")
    executable.chmod(0o755)
    unit = tmp_path / "nnplay.service"
    unit.write_text(UNIT.read_text().replace(INSTALLED_COMMAND, str(executable))
                    .replace("/etc/nnplay/nnplay.env", str(ENV_FILE)))
    verified = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert verified.returncode == 0 and verified.stdout + verified.stderr == "", verified.stderr
    # exposure 0 (locked down) to 10 (none); --threshold=20 fails above 2.0 ("OK" is below 3)
    rated = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--threshold=20", str(unit)],
                           capture_output=True, text=True)
    assert rated.returncode == 0, rated.stdout[-600:]


# ---- nginx in front of two instances -----------------------------------------------------------------------------
PAGES = ["#dataset=xor&networkShape=3,2&activation=sigmoid&seed=11", "#dataset=circle&networkShape=4&seed=12",
         "#dataset=gauss&networkShape=2&seed=13", "#dataset=spiral&networkShape=5,3&activation=relu&seed=14"]
RUN = {"config": {"dataset": "spiral", "hidden": [6, 6], "n_samples": 2000, "seed": 5}, "epochs": 300}


@pytest.fixture
def cluster(tmp_path):
    """Two instances as the unit starts them and nginx in front, all stopped afterwards."""
    if shutil.which("nginx") is None and not shutil.which("/usr/sbin/nginx"):
        pytest.skip("nginx is not installed (apt-get install nginx)")
    instances = [Instance(drain_grace="20", idle_timeout="600") for _ in range(2)]
    proxy = Nginx(tmp_path, instances)
    for instance in instances:  # the site's public origin, as deploy/systemd/nnplay.env says to set it
        instance.env["NNPLAY_ALLOWED_ORIGINS"] = proxy.url
    try:
        for instance in instances:
            instance.start()
        yield instances, proxy.start()
    finally:
        proxy.stop()
        for instance in instances:
            instance.stop()


def sessions_on(instance: Instance) -> int:
    return instance.health()[1]["sessions"]


def watch_reconnects(page) -> None:
    """Count the page's sessions from now on (each new session greets it with hello), and keep why the
    connection was lost."""
    page.evaluate("""() => { const n = window.nnplay; n.reconnects = 0; n.lost = [];
        n.hub.on('socket:open', () => { n.reconnects += 1; });
        n.hub.on('socket:status', (s) => { if (s.status === 'reconnecting' && s.detail) n.lost.push(s.detail); }); }""")


@pytest.mark.browser
def test_pages_and_runs_through_nginx_survive_stopping_an_instance(cluster, make_page):
    instances, proxy = cluster
    pages = []
    for link in PAGES:  # least_conn spreads the sessions over both instances
        page = make_page(proxy.url + "/" + link)
        page.get_by_role("button", name="Step").click()
        page.wait_for_function("window.nnplay.session.epoch === 1")
        watch_reconnects(page)
        pages.append(page)
    held = [sessions_on(instance) for instance in instances]
    assert sum(held) == len(pages) and min(held) >= 1, held

    # a scripted client (no cookie): its background run is found again on every poll
    status, run, _ = post_json(f"{proxy.url}/api/runs", RUN)
    assert status == 202
    for _ in range(6):
        assert get_json(f"{proxy.url}/api/runs/{run['id']}")[0] == 200
    keeper = next(i for i in instances if get_json(f"{i.url}/api/runs")[1]["runs"])
    leaving = next(i for i in instances if i is not keeper)

    before = {id(page): (server_state(page)["config"], page.evaluate(
        "Array.from(window.nnplay.session.lastFrame.arrays.weights)")) for page in pages}
    moving = sessions_on(leaving)
    leaving.terminate()  # systemctl stop: drain, then exit
    assert leaving.wait(30) is not None

    for page in pages:  # every page has a session again, on the instance that stayed, with its own setup
        page.get_by_role("status", name="Connection").filter(has_text="connected").wait_for(timeout=20_000)
        settle(page)
        config, weights = before[id(page)]
        assert server_state(page)["config"] == config
        restored = page.evaluate("Array.from(window.nnplay.session.lastFrame.arrays.weights)")
        assert restored == pytest.approx(weights, abs=1e-6)
    wait_until(lambda: sessions_on(keeper) == len(pages), 10, "all sessions on the instance that stayed")
    reconnected = sorted(page.evaluate("window.nnplay.reconnects") for page in pages)
    assert reconnected == [0] * (len(pages) - moving) + [1] * moving, "the pages on the stopped instance " \
        "reconnected once; the others never"
    for page in pages:  # closed with 1012 "service restart", reconnected at the first try
        assert page.evaluate("window.nnplay.lost") in ([], ["server restarting; reconnect"])
    screenshot(next(p for p in pages if p.evaluate("window.nnplay.reconnects")), "deploy-moved-page.png")

    done = wait_until(lambda: (lambda body: body["status"] != "running" and body)(
        get_json(f"{proxy.url}/api/runs/{run['id']}")[1]), 120, "the background run finishes")
    assert done["status"] == "done" and done["epochs_done"] == RUN["epochs"] and done["result"]["epochs_run"] == 300

    pages[0].get_by_role("button", name="Play").click()  # and training goes on
    pages[0].wait_for_function("window.nnplay.session.epoch >= 5", timeout=20_000)
    for page in pages:
        assert all("WebSocket" in error for error in page.errors), page.errors


def test_scripted_clients_find_their_runs_by_cookie_or_by_address(cluster):
    """Each run is known to one instance only; the proxy sends every poll of its client there."""
    instances, proxy = cluster
    clients = [{"Cookie": f"nnplay_client={name}"} for name in ("alice", "bob", "carol")] + [{}]  # {}: address
    for headers in clients:
        status, run, _ = post_json(f"{proxy.url}/api/runs", RUN, headers=headers)
        assert status == 202
        holders = [i for i in instances if get_json(f"{i.url}/api/runs/{run['id']}")[0] == 200]
        assert len(holders) == 1
        for _ in range(5):
            assert get_json(f"{proxy.url}/api/runs/{run['id']}", headers=headers)[1]["id"] == run["id"]



def test_a_poll_through_the_proxy_finds_its_run_on_whichever_instance_holds_it(cluster):
    """A run that started away from its client's instance (that one was draining or down) is found by every
    poll: an instance without the run answers 404, and the proxy asks the next one."""
    instances, proxy = cluster
    for instance in instances:
        status, run, _ = post_json(f"{instance.url}/api/runs", RUN)  # straight to the instance
        assert status == 202
        for name in ("alice", "bob", "carol", "dave", "erin"):
            status, polled = get_json(f"{proxy.url}/api/runs/{run['id']}", headers={"Cookie": f"nnplay_client={name}"})
            assert (status, polled.get("id")) == (200, run["id"]), name
    status, missing = get_json(f"{proxy.url}/api/runs/0123456789abcdef")
    assert status == 404 and missing["detail"] == "no run '0123456789abcdef' (unknown, deleted or expired)"

# ---- a rolling restart: both instances, one after the other ------------------------------------------------------
def test_a_rolling_restart_brings_every_session_back_and_keeps_every_run_pollable(cluster):
    """Both instances restarted in turn, 30 s apart, under 16 pages and a script with background runs: every
    page has its setup back within 5 s of each SIGTERM, and every poll of a run through the proxy answers it,
    from start to result: one run whose instance drains while it trains, and one started during that drain
    (it starts on the other instance, while its client's key still points at the draining one)."""
    instances, proxy = cluster
    rolling = RollingRestart(instances, proxy, pages=16, gap=30, back_within=5)
    try:
        rolling.play()
        pages_up, sessions = sum(page.up for page in rolling.pages), sum(held_sessions(i) for i in instances)
    finally:
        rolling.close()
    print(f"\nrolling restart, 16 pages, 30 s apart: restarts {rolling.restarts}; run polls {rolling.polls()}")
    for seen in rolling.restarts:
        assert seen["moved"] == seen["held"] and seen["back"] == seen["moved"], rolling.restarts
    assert rolling.restarts[0]["held"] >= 1 and rolling.restarts[1]["moved"] == 16, "least_conn spread the " \
        "pages over both instances; all were on the second by its restart"
    assert rolling.second_elsewhere
    assert rolling.pollers[0].running_after(rolling.began), "the first run was still training when its instance drained"
    for poller in rolling.pollers:
        assert poller.failures == [], (rolling.polls(), poller.failures[:3])
        assert poller.last["status"] == "done" and poller.last["epochs_done"] == LONG_RUN["epochs"], rolling.polls()
    assert pages_up == sessions == 16


def not_followed(url: str) -> tuple[int, str, str]:
    """(status, Location header, body) of a GET whose redirect is not followed."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", parts.path)
        response = connection.getresponse()
        return response.status, response.getheader("location", ""), response.read().decode()
    finally:
        connection.close()


def test_a_short_link_opens_through_nginx_whichever_machine_stored_it(tmp_path):
    """Two instances with stores of their own (two machines): a short link or a stored network made on either
    opens through the proxy every time, whichever instance the proxy asks first; an unknown one is the plain
    404 page."""
    if shutil.which("nginx") is None and not shutil.which("/usr/sbin/nginx"):
        pytest.skip("nginx is not installed (apt-get install nginx)")
    instances = [Instance(data_dir=str(tmp_path / f"machine-{n}")) for n in range(2)]
    proxy = Nginx(tmp_path, instances)
    try:
        for instance in instances:
            instance.start()
        proxy.start()
        for n, instance in enumerate(instances):
            status, setup, _ = post_json(f"{instance.url}/api/setups", {"link": f"#dataset=xor&seed={n}"})
            assert status == 201
            assert get_json(f"{instances[1 - n].url}/api/setups/{setup['id']}")[0] == 404, "not on the other"
            for _ in range(4):  # least_conn: either instance may be asked first
                assert get_json(f"{proxy.url}/api/setups/{setup['id']}") == (200, setup)
                assert not_followed(proxy.url + setup["url"])[:2] == (303, f"/#dataset=xor&seed={n}")
                assert not_followed(proxy.url + setup["embed_url"])[:2] == (303, f"/embed#dataset=xor&seed={n}")
            network = {"config": {"dataset": "xor", "hidden": [2], "seed": n}, "epoch": n,
                       "weights": [{"W": [[0.1, 0.2], [0.3, 0.4]], "b": [0.0, 0.0]}, {"W": [[0.5, 0.6]], "b": [0.0]}]}
            status, kept, _ = post_json(f"{instance.url}/api/networks", network)
            assert status == 201
            assert get_json(f"{instances[1 - n].url}/api/networks/{kept['id']}")[0] == 404, "not on the other"
            for _ in range(4):
                status, back = get_json(f"{proxy.url}/api/networks/{kept['id']}")
                assert status == 200 and (back["epoch"], back["weights"]) == (n, network["weights"])
                assert not_followed(proxy.url + kept["url"])[:2] == (303, f"/?network={kept['id']}")
        status, _, page = not_followed(f"{proxy.url}/s/zzzzz-zzzzz")
        assert status == 404 and "This short link does not exist" in page
        status, _, page = not_followed(f"{proxy.url}/n/zzzzz-zzzzz")
        assert status == 404 and "This network link does not exist" in page
    finally:
        proxy.stop()
        for instance in instances:
            instance.stop()
