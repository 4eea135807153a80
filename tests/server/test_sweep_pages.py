"""A sweep's results read in pages (GET /api/sweeps/{id}?offset=&limit=): every run once, in index order, the
page size bounded by settings shown in /api/options and OpenAPI, bad values a 422 naming them; histories and
the CSV streamed with the same content as the sweep run whole; the figure reads only the curves it draws."""

from __future__ import annotations

import csv
import io

import pytest
from server_helpers import SMALL, wait_until

from nnplay.server.settings import Settings
from nnplay.server.sweeps import SweepLimits, run_sweep
from nnplay.server.sweeps.executors import make_executor

BODY = {"config": SMALL, "grid": {"learning_rate": [0.01, 0.03, 0.1]}, "seeds": 3, "epochs": 5}  # 9 runs
PAGE, MAX_PAGE = 2, 4


@pytest.fixture
def finished(client_for):
    """A client of a server with pages of 2 (at most 4) and a finished sweep of 9 runs."""
    with client_for(sweep_processes=0, sweep_page=PAGE, max_sweep_page=MAX_PAGE) as client:
        sweep_id = client.post("/api/sweeps", json=BODY).json()["id"]
        wait_until(lambda: client.get(f"/api/sweeps/{sweep_id}").json()["status"] == "done", "the sweep finished")
        yield client, sweep_id


def every_page(client, sweep_id: str, **params) -> tuple[list[dict], list[dict]]:
    """The pages from ``params`` on, following each page's ``next``; (the pages, their results in order)."""
    pages = [client.get(f"/api/sweeps/{sweep_id}", params=params).json()]
    while pages[-1]["next"]:
        pages.append(client.get(pages[-1]["next"]).json())
    return pages, [result for page in pages for result in page["results"]]


def test_the_pages_give_every_run_once_in_index_order(finished):
    client, sweep_id = finished
    pages, results = every_page(client, sweep_id)
    assert [r["index"] for r in results] == list(range(9))
    assert [(p["offset"], p["limit"], len(p["results"])) for p in pages] == [(0, 2, 2), (2, 2, 2), (4, 2, 2),
                                                                             (6, 2, 2), (8, 2, 1)]
    assert all(p["total"] == 9 and p["done"] == 9 and p["model_epochs"] == 45 for p in pages)
    assert pages[0]["next"] == f"/api/sweeps/{sweep_id}?offset=2&limit=2"
    _, biggest = every_page(client, sweep_id, limit=MAX_PAGE)
    assert biggest == results
    tail = client.get(f"/api/sweeps/{sweep_id}", params={"offset": 7, "limit": 4}).json()
    assert [r["index"] for r in tail["results"]] == [7, 8] and tail["next"] is None
    end = client.get(f"/api/sweeps/{sweep_id}", params={"offset": 9}).json()
    assert end["results"] == [] and end["next"] is None and end["total"] == 9


@pytest.mark.parametrize(("params", "field", "words"), [
    ({"offset": -1}, "offset", "0 or more"),
    ({"offset": 10}, "offset", "0 to 9"),
    ({"limit": 0}, "limit", "1 to 4"),
    ({"limit": MAX_PAGE + 1}, "limit", "max_sweep_page"),
    ({"limit": "many"}, "limit", ""),
])
def test_a_bad_offset_or_limit_is_a_422_naming_it(finished, params, field, words):
    client, sweep_id = finished
    answer = client.get(f"/api/sweeps/{sweep_id}", params=params)
    assert answer.status_code == 422
    detail = answer.json()["detail"][0]
    assert detail["loc"] == ["query", field] and words in str(detail)


def test_the_page_sizes_are_settings_shown_in_options_and_openapi(finished):
    client, _ = finished
    limits = client.get("/api/options").json()["server_limits"]
    assert (limits["sweep_page"], limits["max_sweep_page"]) == (PAGE, MAX_PAGE)
    operation = client.get("/openapi.json").json()["paths"]["/api/sweeps/{sweep_id}"]["get"]
    limit = next(p for p in operation["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["default"], limit["schema"]["maximum"]) == (PAGE, MAX_PAGE)
    with pytest.raises(ValueError, match="sweep_page"):
        Settings(sweep_page=8, max_sweep_page=4)


def test_streamed_histories_and_csv_equal_the_sweep_run_whole(finished):
    client, sweep_id = finished
    pages, streamed = every_page(client, sweep_id, history=1, limit=3)
    assert all(p["next"] is None or p["next"].endswith("&history=1") for p in pages)
    executor = make_executor(0, None)
    try:
        whole = run_sweep(BODY, limits=SweepLimits.of(Settings()), executor=executor, chunk_size=32)
    finally:
        executor.shutdown()
    assert [len(r["history"]) for r in streamed] == [5] * 9
    assert streamed == whole["results"]
    table = client.get(f"/api/sweeps/{sweep_id}?format=csv")  # every run, not a page
    assert table.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [int(r["index"]) for r in rows] == list(range(9))
    assert [float(r["test_loss"]) for r in rows] == [r["test_loss"] for r in whole["results"]]
    page = list(csv.DictReader(io.StringIO(client.get(f"/api/sweeps/{sweep_id}?format=csv&offset=3&limit=2").text)))
    assert [int(r["index"]) for r in page] == [3, 4]
