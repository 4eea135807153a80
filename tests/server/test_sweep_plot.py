"""The sweep figure (server/sweeps/plot.py), drawn from sweep JSON as GET /api/sweeps/{id} answers it."""

from __future__ import annotations

import io
import itertools
import math
import statistics
import xml.etree.ElementTree as ET

import pytest

pytest.importorskip("matplotlib")

from nnplay.server.problems import InvalidInput  # noqa: E402
from nnplay.server.sweeps import plot  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"


def sweep_of(grid: dict, seeds: int = 3, epochs: int = 6, loss=None) -> dict:
    """A finished sweep's JSON with made-up losses (``loss(combination, seed)``) and histories."""
    loss = loss or (lambda c, s: 0.1 + 0.05 * c + 0.01 * s)
    fields = list(grid)
    combinations = [dict(zip(fields, values, strict=True)) for values in itertools.product(*grid.values())]
    results = []
    for c, combination in enumerate(combinations):
        for s in range(seeds):
            value = loss(c, s)
            history = [{"epoch": e, "train_loss": value + 1 / e, "test_loss": value + 1 / e}
                       for e in range(1, epochs + 1)]
            results.append({"index": c * seeds + s, "combination": c, "overrides": combination, "seed": s,
                            "status": "ok" if math.isfinite(value) else "diverged", "epochs_run": epochs,
                            "train_loss": value, "test_loss": value if math.isfinite(value) else None,
                            "accuracy": 1 - value if math.isfinite(value) else None, "r2": None, "rmse": None,
                            "link": f"/#seed={s}", "history": history})
    return {"id": "s1", "status": "done", "created": 0.0, "finished": 1.0, "done": len(results),
            "total": len(results), "epochs": epochs, "model_epochs": len(results) * epochs, "fields": fields,
            "seeds": list(range(seeds)), "request": {"grid": grid}, "combinations": combinations, "results": results}


def svg_of(sweep: dict, metric: str | None = None) -> ET.Element:
    return ET.fromstring(plot.render(sweep, "svg", metric))


def texts(node: ET.Element) -> list[str]:
    return [t.text for t in node.iter(f"{SVG}text") if t.text]


def ticks(root: ET.Element, axis: str) -> dict[str, float]:
    """The first axes' tick labels of ``axis`` ('x' or 'y') and their positions along it."""
    found = {}
    for group in root.iter(f"{SVG}g"):
        if group.get("id", "").startswith(f"{axis}tick_"):
            text = next(group.iter(f"{SVG}text"))
            if text.text not in found:  # the first axes come first in the document
                found[text.text] = float(text.get(axis))
    return found


def test_one_log_spaced_field_is_drawn_on_a_log_axis_with_its_values_as_ticks():
    rates = [0.003, 0.01, 0.03, 0.1]
    root = svg_of(sweep_of({"learning_rate": rates}))
    assert "learning_rate" in texts(root)
    x = ticks(root, "x")
    assert list(x)[:4] == ["0.003", "0.01", "0.03", "0.1"]
    # on a log axis the position is linear in log10(value): 0.003 -> 0.01 is as far as 0.03 -> 0.1
    per_decade = (x["0.1"] - x["0.003"]) / math.log10(0.1 / 0.003)
    for label, value in zip(["0.01", "0.03"], [0.01, 0.03], strict=True):
        assert x[label] - x["0.003"] == pytest.approx(per_decade * math.log10(value / 0.003), abs=0.5)


def test_evenly_spaced_values_get_a_linear_axis_and_categories_even_steps():
    root = svg_of(sweep_of({"batch_size": [10, 20, 40]}))
    x = ticks(root, "x")
    assert x["40"] - x["20"] == pytest.approx(2 * (x["20"] - x["10"]), abs=0.5)  # linear in the value
    root = svg_of(sweep_of({"activation": ["relu", "tanh", "sigmoid"]}))
    x = ticks(root, "x")
    assert x["sigmoid"] - x["tanh"] == pytest.approx(x["tanh"] - x["relu"], abs=0.5)
    assert plot.axis_scale([0, 0.001, 0.01]) == "linear"  # a zero has no place on a log axis
    assert plot.axis_scale([1e-4, 1e-3, 1e-2]) == "log"


def test_two_fields_give_a_heatmap_with_a_cell_per_pair_showing_the_mean_over_seeds():
    # a field given one value (regularization) is part of the setup, not a third axis
    sweep = sweep_of({"learning_rate": [0.003, 0.01, 0.03], "regularization": ["l2"], "reg_rate": [0, 0.001]}, seeds=3)
    root = svg_of(sweep)
    cells = {g.get("id"): texts(g) for g in root.iter(f"{SVG}g") if g.get("id", "").startswith("cell-")}
    assert len(cells) == 3 * 2
    # row 1 is learning_rate 0.01, column 1 reg_rate 0.001: combination 3, losses 0.25, 0.26, 0.27
    mean = statistics.fmean(r["test_loss"] for r in sweep["results"] if r["combination"] == 3)
    assert cells["cell-1-1"][0] == f"{mean:.3g}" and cells["cell-1-1"][1].startswith("±")
    assert {"learning_rate", "reg_rate"} <= set(texts(root))
    assert {"0.003", "0.01", "0.03"} <= set(ticks(root, "y")) and {"0", "0.001"} <= set(ticks(root, "x"))


def test_the_best_learning_curves_are_beside_the_main_panel():
    sweep = sweep_of({"learning_rate": [0.003, 0.01, 0.03, 0.1]})
    words = texts(svg_of(sweep, "accuracy"))
    # accuracy is higher-is-better: the best three are the lowest losses, learning rates 0.003, 0.01, 0.03
    assert {"learning_rate=0.003", "learning_rate=0.01", "learning_rate=0.03"} <= set(words)
    assert "learning_rate=0.1" not in words and "best 3 by test accuracy" in words


def test_a_sweep_of_seeds_alone_is_one_labelled_bar():
    sweep = sweep_of({}, seeds=4)
    sweep["fields"] = []
    words = texts(svg_of(sweep))
    assert words.count("the setup") == 2  # its bar and its learning curve
    assert "test loss: mean over 4 seeds (4 runs of 6 epochs)" in words


def test_runs_without_a_value_are_left_out_and_counted():
    sweep = sweep_of({"learning_rate": [0.01, 10.0]}, seeds=2, loss=lambda c, s: math.inf if c == 1 else 0.2)
    words = texts(svg_of(sweep))
    assert "test loss: mean over 2 seeds (2 runs of 6 epochs) (2 runs without a value left out)" in words


def test_combinations_stopped_by_halving_are_marked_with_their_epoch():
    sweep = sweep_of({"learning_rate": [0.003, 0.01], "reg_rate": [0, 0.001]}, seeds=2, epochs=6)
    for row in sweep["results"]:
        if row["combination"] >= 2:  # learning rate 0.01: stopped at the first rung
            row.update(status="halved", epochs_run=3, history=row["history"][:3])
    cells = {g.get("id"): texts(g) for g in svg_of(sweep).iter(f"{SVG}g") if g.get("id", "").startswith("cell-")}
    assert [cells[f"cell-1-{c}"][-1] for c in (0, 1)] == ["halved @3", "halved @3"]
    assert all("halved" not in cells[f"cell-0-{c}"][-1] for c in (0, 1))


def test_unknown_metric_names_it_and_the_allowed_ones():
    with pytest.raises(InvalidInput) as caught:
        plot.render(sweep_of({"learning_rate": [0.01, 0.1]}), "svg", "r2")
    message = caught.value.problems[0]["message"]
    assert caught.value.problems[0]["field"] == "metric" and caught.value.problems[0]["value"] == "r2"
    assert "'r2'" in message and "test_loss, train_loss, accuracy" in message


def test_png_is_a_slide_sized_picture():
    from PIL import Image

    picture = Image.open(io.BytesIO(plot.render(sweep_of({"learning_rate": [0.01, 0.1]}), "png")))
    assert picture.format == "PNG" and picture.size == (1400, 600)


def test_the_figure_reads_only_the_histories_of_the_curves_it_draws():
    # 6 combinations of 2 seeds; the best (lowest loss) is combination 5, then 4, 3; combination 4's runs have no
    # history (as if it was lost), so the curves are those of 5, 3 and 2
    whole = sweep_of({"learning_rate": [0.01, 0.03, 0.1], "reg_rate": [0, 0.001]}, seeds=2,
                     loss=lambda c, s: 1.0 - 0.1 * c + 0.01 * s)
    for row in whole["results"]:
        if row["combination"] == 4:
            row["history"] = []
    stored = {row["index"]: [[p["epoch"], p["train_loss"], p["test_loss"]] for p in row["history"]]
              for row in whole["results"]}
    asked: list[list[int]] = []

    def histories(indices: list[int]) -> dict[int, list]:
        asked.append(indices)
        return {i: stored[i] for i in indices}

    bare = {**whole, "results": [{**row, "history": None} for row in whole["results"]]}
    drawn = plot.with_best_curves(bare, "test_loss", histories)
    assert asked == [[10, 11], [8, 9], [6, 7], [4, 5]]  # one combination at a time, best first, until 3 curves
    assert plot.render(drawn, "svg") == plot.render(whole, "svg")


# ---- the route: GET /api/sweeps/{id}/plot.png|.svg ------------------------------------------------------------
GRID = {"learning_rate": [0.01, 0.1], "reg_rate": [0, 0.001]}


@pytest.fixture
def finished(client_for):
    """A client and a finished 2×2 sweep of 2 seeds (sweeps trained in the server's thread)."""
    from server_helpers import SMALL, wait_until

    with client_for(sweep_processes=0) as client:
        body = {"config": {**SMALL, "regularization": "l2"}, "grid": GRID, "seeds": 2, "epochs": 6}
        sweep_id = client.post("/api/sweeps", json=body).json()["id"]
        wait_until(lambda: client.get(f"/api/sweeps/{sweep_id}").json()["status"] == "done", "the sweep finished")
        yield client, sweep_id


def test_the_route_draws_the_stored_sweep(finished):
    client, sweep_id = finished
    answer = client.get(f"/api/sweeps/{sweep_id}/plot.svg")
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/svg+xml"
    root = ET.fromstring(answer.content)
    assert sum(g.get("id", "").startswith("cell-") for g in root.iter(f"{SVG}g")) == 4
    sweep = client.get(f"/api/sweeps/{sweep_id}?history=1").json()
    assert sweep["next"] is None  # one page: the whole sweep
    assert answer.content == plot.render(sweep, "svg")  # the route draws the sweep as GET gives it, histories too
    png = client.get(f"/api/sweeps/{sweep_id}/plot.png?metric=accuracy")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_route_names_an_unknown_metric_and_sweep(finished):
    client, sweep_id = finished
    answer = client.get(f"/api/sweeps/{sweep_id}/plot.svg?metric=rmse")  # a regression metric on a classification
    assert answer.status_code == 422
    detail = answer.json()["detail"][0]
    assert detail["field"] == "metric" and detail["value"] == "rmse" and "accuracy" in detail["msg"]
    missing = client.get("/api/sweeps/nope/plot.png")
    assert missing.status_code == 404 and "'nope'" in missing.json()["detail"]


def test_without_matplotlib_the_route_says_how_to_install_it(finished, monkeypatch):
    import sys

    client, sweep_id = finished
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError
    answer = client.get(f"/api/sweeps/{sweep_id}/plot.png")
    assert answer.status_code == 501 and "pip install 'nnplay[plot]'" in answer.json()["detail"]
