"""What a sweep looks like to its readers: the JSON of ``GET /api/sweeps/{id}``, its CSV, each run's link.

:func:`document` builds the JSON from a sweep's stored description and its result rows (both the server and
:func:`~nnplay.server.sweeps.local.run_sweep` call it); :func:`to_csv` writes the same table with one column
per swept field; :func:`playground_link` writes the playground URL hash that opens a run, in the keys of the
page's link codec (frontend/js/state-link.js): TensorFlow Playground's where it has one, else the field's
camelCase name.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any, Optional
from urllib.parse import quote

from nnplay.engine import FEATURES

PLAYGROUND_KEYS = {"batch_size": "batchSize", "learning_rate": "learningRate", "reg_rate": "regularizationRate",
                   "noise": "noise", "seed": "seed", "problem": "problem"}
UNLINKED = frozenset({"custom_points", "device"})  # own points travel in the page's storage, the device is the server's
COLUMNS = ["index", "combination", "seed", "status", "epochs_run", "train_loss", "test_loss", "accuracy", "r2", "rmse",
           "link"]


def _camel(name: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return "" if value is None else str(value)


def _pairs(config: dict[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, value in config.items():
        if name in UNLINKED:
            continue
        if name == "features":
            names = [f for f in value if f in FEATURES]
            formulas = [f for f in value if f not in FEATURES]
            pairs += [(FEATURES[f].url_key, _text(f in names)) for f in FEATURES if f in names or f in ("x1", "x2")]
            if formulas:
                pairs.append(("formulas", json.dumps(formulas)))
        elif name in ("activation", "normalization"):
            pairs.append((f"{name}s", _text(value)) if isinstance(value, list) else (name, value))
        elif name == "regularization":
            pairs.append((name, value.upper() if value in ("l1", "l2") else value))
        elif name == "dataset":
            pairs.append(("regDataset" if config.get("problem") == "regression" else "dataset", value))
        elif name == "hidden":
            pairs.append(("networkShape", _text(value)))
        elif name == "train_ratio":
            pairs.append(("percTrainData", _text(round(value * 100, 3))))
        elif name == "init":
            pairs.append(("initZero", "true") if value == "zeros" else ("init", value))
        else:
            pairs.append((PLAYGROUND_KEYS.get(name, _camel(name)), _text(value)))
    return pairs


def playground_link(config: dict[str, Any]) -> str:
    """The page's URL (path and hash) that opens ``config`` (seed included) in the playground."""
    text = "&".join(f"{key}={quote(value, safe='').replace('%2C', ',')}" for key, value in _pairs(config))
    return f"/#{text}"


def document(meta: dict[str, Any], rows: dict[int, dict[str, Any]], *, running: frozenset[int] = frozenset(),
             history: bool = False) -> dict[str, Any]:
    """``SweepInfo``'s fields from ``meta`` (id, status, created, finished, error, request, fields,
    combinations, seeds, epochs) and the result ``rows`` known (by run index); the runs without a row are
    ``running`` (indices in ``running``), ``cancelled`` (the sweep was) or ``pending``."""
    seeds, combinations, base = meta["seeds"], meta["combinations"], meta["request"].get("config", {})
    unfinished = "cancelled" if meta["status"] == "cancelled" else "pending"
    running = running if meta["status"] == "running" else frozenset()
    results = []
    for index in range(len(combinations) * len(seeds)):
        combination, seed = divmod(index, len(seeds))
        overrides = combinations[combination]
        row = rows.get(index) or {"status": "running" if index in running else unfinished, "epochs_run": 0}
        result = {"index": index, "combination": combination, "overrides": overrides, "seed": seeds[seed],
                  "status": row["status"], "epochs_run": row["epochs_run"],
                  **{key: row.get(key) for key in ("train_loss", "test_loss", "accuracy", "r2", "rmse")},
                  "link": playground_link({**base, **overrides, "seed": seeds[seed]})}
        if history:
            points = row.get("history", [])
            result["history"] = [{"epoch": e, "train_loss": tr, "test_loss": te} for e, tr, te in points]
        results.append(result)
    return {"id": meta["id"], "status": meta["status"], "created": meta["created"], "finished": meta.get("finished"),
            "error": meta.get("error"), "done": len(rows), "total": len(results), "epochs": meta["epochs"],
            "model_epochs": sum(row["epochs_run"] for row in rows.values()), "fields": meta["fields"],
            "seeds": seeds, "request": meta["request"], "combinations": combinations, "results": results}


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def to_csv(sweep: dict[str, Any], columns: Optional[list[str]] = None) -> str:
    """The result table of a sweep (the JSON of ``GET /api/sweeps/{id}``) as CSV: one row per run, one column per
    swept field (its value; a list as JSON), then ``COLUMNS``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = sweep["fields"]
    columns = columns or COLUMNS
    writer.writerow([*names, *columns])
    for result in sweep["results"]:
        writer.writerow([*(_cell(result["overrides"].get(n)) for n in names), *(_cell(result.get(c)) for c in columns)])
    return out.getvalue()
