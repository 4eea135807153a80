"""``nnplay sweep``: its arguments as a POST /api/sweeps body, its failures in one line."""

from __future__ import annotations

import json

import pytest

from nnplay.server.cli import main


def request_of(tmp_path, file_body, *options) -> dict:
    """The body ``nnplay sweep`` would send for ``file_body`` and ``options`` (parsed as the command does)."""
    from nnplay.server.cli import _parser
    from nnplay.server.sweeps.cli import build_request

    args = _parser().parse_args(["sweep", str(tmp_path / "c.json"), *options])
    return build_request(args, file_body)


def test_grid_values_are_json_where_they_parse_and_text_otherwise(tmp_path):
    body = request_of(tmp_path, {"hidden": [4]}, "--grid", "learning_rate=0.003,0.01,0.03", "--grid", "reg_rate=0,1e-3",
                      "--grid", "hidden=[4],[8, 8]", "--grid", "activation=relu,tanh", "--grid", "shuffle=true,false",
                      "--seeds", "5", "--epochs", "300")
    assert body == {"config": {"hidden": [4]}, "seeds": 5, "epochs": 300,
                    "grid": {"learning_rate": [0.003, 0.01, 0.03], "reg_rate": [0, 0.001], "hidden": [[4], [8, 8]],
                             "activation": ["relu", "tanh"], "shuffle": [True, False]}}


def test_random_search_halving_and_a_seed_list(tmp_path):
    body = request_of(tmp_path, {}, "--random", "learning_rate=log_uniform:1e-4:1",
                      "--random", "reg_rate=uniform:0:0.01", "--random", "hidden=choice:[4],[8,8]",
                      "--samples", "20", "--sampler-seed", "3",
                      "--seeds", "1,2,3", "--halving", "test_loss:50:0.5", "--epochs", "100")
    assert body["random"] == {"learning_rate": {"log_uniform": [1e-4, 1.0]}, "reg_rate": {"uniform": [0.0, 0.01]},
                              "hidden": {"choice": [[4], [8, 8]]}}
    assert (body["samples"], body["sampler_seed"], body["seeds"]) == (20, 3, [1, 2, 3])
    assert body["halving"] == {"metric": "test_loss", "every": 50, "keep": 0.5}


def test_a_whole_request_file_is_kept_and_the_options_go_over_it(tmp_path):
    file_body = {"config": {"hidden": [2]}, "grid": {"learning_rate": [0.1], "reg_rate": [0, 0.1]}, "seeds": 2,
                 "epochs": 50}
    body = request_of(tmp_path, file_body, "--grid", "learning_rate=0.01,0.03", "--epochs", "20")
    assert body == {"config": {"hidden": [2]}, "grid": {"learning_rate": [0.01, 0.03], "reg_rate": [0, 0.1]},
                    "seeds": 2, "epochs": 20}


def one_line_failure(argv: list[str], capsys) -> str:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("option, words", [
    (["--grid", "learning_rate"], ["--grid", "FIELD=V1,V2", "'learning_rate'"]),
    (["--grid", "learning_rate=0.1,,0.3"], ["empty value", "'0.1,,0.3'"]),
    (["--random", "learning_rate=normal:0:1"], ["distribution 'normal'", "log_uniform, uniform, choice"]),
    (["--random", "learning_rate=uniform:0"], ["uniform:LOW:HIGH", "'uniform:0'"]),
    (["--halving", "test_loss"], ["METRIC:EVERY[:KEEP]", "'test_loss'"]),
    (["--seeds", "1,x"], ["--seeds", "'1,x'"]),
    (["--epochs", "0"], ["epochs must be at least 1", "0"]),
])
def test_bad_options_fail_in_one_line(tmp_path, option, words, capsys):
    err = one_line_failure(["sweep", str(tmp_path / "c.json"), *option], capsys)
    assert all(word in err for word in words), err


def test_missing_pieces_and_unwritable_outputs_fail_before_any_training(tmp_path, capsys):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"hidden": [2]}))
    err = one_line_failure(["sweep", str(config), "--grid", "learning_rate=0.1"], capsys)
    assert "--epochs" in err
    err = one_line_failure(["sweep", str(config), "--epochs", "5"], capsys)
    assert "--grid" in err
    grid = ["--grid", "learning_rate=0.1", "--epochs", "5"]
    err = one_line_failure(["sweep", str(config), *grid, "--out", str(tmp_path / "no" / "r.csv")], capsys)
    assert "cannot write" in err and "does not exist" in err
    err = one_line_failure(["sweep", str(config), *grid, "--plot", str(tmp_path / "sweep.pdf")], capsys)
    assert ".png or a .svg" in err
    err = one_line_failure(["sweep", str(config), *grid, "--plot", str(tmp_path / "s.png"), "--metric", "f1"], capsys)
    assert "--metric 'f1' is not a metric; allowed: test_loss, train_loss, accuracy, r2, rmse" in err
    assert "cannot read" in one_line_failure(["sweep", str(tmp_path / "missing.json"), *grid], capsys)


# ---- running: locally and with --server, the same table as REST ------------------------------------------------
SWEEP_BODY = {"grid": {"learning_rate": [0.01, 0.1], "hidden": [[2], [3, 2]]}, "seeds": 2, "epochs": 5}


def test_local_sweep_writes_the_table_rest_gives_and_the_figure(tmp_path, capsys, client_for, monkeypatch):
    from server_helpers import SMALL, wait_until

    monkeypatch.setenv("NNPLAY_SWEEP_PROCESSES", "0")  # trained in this process: no workers to start in a test
    config = tmp_path / "config.json"
    config.write_text(json.dumps(SMALL))
    out, figure = tmp_path / "results.csv", tmp_path / "sweep.svg"
    assert main(["sweep", str(config), "--grid", "learning_rate=0.01,0.1", "--grid", "hidden=[2],[3,2]",
                 "--seeds", "2", "--epochs", "5", "--out", str(out), "--plot", str(figure)]) == 0
    err = capsys.readouterr().err
    assert "8/8" in err and "done: 8/8 runs of 5 epochs; best test loss" in err  # the bar, then the summary
    with client_for(sweep_processes=0) as client:
        sweep_id = client.post("/api/sweeps", json={"config": SMALL, **SWEEP_BODY}).json()["id"]
        wait_until(lambda: client.get(f"/api/sweeps/{sweep_id}").json()["status"] == "done", "the sweep finished")
        assert out.read_text() == client.get(f"/api/sweeps/{sweep_id}?format=csv").text
    assert figure.read_text().startswith("<?xml") and "learning_rate" in figure.read_text()


@pytest.fixture(scope="module")
def sweep_server():
    """``nnplay serve`` training sweeps in its own thread, one run per chunk (so a cancel lands between runs),
    results in pages of 3 runs."""
    from server_helpers import serving

    with serving({"NNPLAY_SWEEP_PROCESSES": "0", "NNPLAY_ENGINE_PROCESSES": "0", "NNPLAY_SWEEP_CHUNK": "1",
                  "NNPLAY_SWEEP_PAGE": "3"}) as server:
        yield server["http"]


def get_json(url: str):
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


def test_server_sweep_posts_polls_and_writes_the_servers_table(tmp_path, capsys, sweep_server):
    from server_helpers import SMALL, free_port

    config = tmp_path / "request.json"
    config.write_text(json.dumps({"config": SMALL, **SWEEP_BODY}))
    out = tmp_path / "results.json"
    assert main(["sweep", str(config), "--server", sweep_server, "--out", str(out), "--quiet"]) == 0
    result = json.loads(out.read_text())
    whole = get_json(f"{sweep_server}/api/sweeps/{result['id']}?history=1&limit=8")  # one page of all 8 runs
    assert result == {**whole, "limit": 3}  # the CLI read the pages of 3 (3 + 3 + 2), every run once, in order
    assert result["status"] == "done" and result["done"] == 8
    assert [r["overrides"] for r in result["results"][::2]] == [
        {"learning_rate": lr, "hidden": h} for lr in (0.01, 0.1) for h in ([2], [3, 2])]
    capsys.readouterr()
    assert main(["sweep", str(config), "--server", sweep_server, "--grid", "activation=nope", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnplay sweep: POST") and "422" in err and "'nope'" in err
    assert main(["sweep", str(config), "--server", f"http://127.0.0.1:{free_port()}", "--quiet"]) == 2
    assert "cannot reach" in capsys.readouterr().err


def test_ctrl_c_on_a_server_sweep_cancels_it_there(tmp_path, sweep_server):
    import signal
    import subprocess
    import sys

    from server_helpers import SMALL, wait_until

    config = tmp_path / "request.json"  # long enough to be interrupted: 64 runs of 1000 epochs, in one thread
    config.write_text(json.dumps({"config": SMALL, "grid": {"learning_rate": [0.001 * (i + 1) for i in range(32)]},
                                  "seeds": 2, "epochs": 1000}))
    newest = lambda: (get_json(f"{sweep_server}/api/sweeps")["sweeps"] or [{}])[0]  # noqa: E731
    command = [sys.executable, "-m", "nnplay", "sweep", str(config), "--server", sweep_server, "--quiet"]
    client = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: newest().get("total") == 64, "the sweep was posted")
        client.send_signal(signal.SIGINT)
        code, err = client.wait(30), client.stderr.read()
        assert code == 130 and "interrupted" in err, err
    finally:
        client.kill()
        client.stderr.close()
    wait_until(lambda: newest()["status"] == "cancelled", "the server cancelled the sweep")
    assert newest()["done"] < 64


def test_the_summary_names_the_best_combination_that_ran_to_the_end():
    from nnplay.server.sweeps.cli import summary

    rows = [(0, "ok", 0.30), (0, "ok", 0.34), (1, "halved", 0.10), (1, "halved", 0.12), (2, "ok", 0.40), (2, "ok", 0.5)]
    result = {"status": "done", "done": 6, "total": 6, "epochs": 50,
              "combinations": [{"learning_rate": lr} for lr in (0.01, 0.1, 1.0)],
              "results": [{"combination": c, "status": s, "test_loss": loss} for c, s, loss in rows]}
    assert summary(result) == ("done: 6/6 runs of 50 epochs; best test loss 0.32 (mean over 2 seeds) at "
                               "learning_rate=0.01")
