"""The page's Sweep view: fields from /api/options, a tiny 2×2 sweep run through the page with its progress, the
table and the figure, and a row that opens its run in the playground."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from page_helpers import contrast_failures, screenshot, wait_ready

pytestmark = pytest.mark.browser

SETUP = "#dataset=xor&networkShape=3&activation=tanh&learningRate=0.03&regularization=L2&seed=5"


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def test_a_sweep_runs_through_the_page_and_a_row_opens_its_run(make_page, server):
    page = make_page(server.url + "/" + SETUP)
    wait_ready(page)
    page.get_by_role("button", name="Sweep", exact=True).click()
    dialog = page.locator("dialog.sweep-dialog")
    assert dialog.is_visible()

    # the fields come from /api/options: every config field the view can take values for, seed excepted
    offered = page.get_by_label("Sweep field").evaluate("s => [...s.options].map((o) => o.value)")
    fields = get_json(server.url + "/api/options")["fields"]
    assert set(offered) <= set(fields) and "seed" not in offered
    assert {"learning_rate", "reg_rate", "hidden", "activation", "optimizer", "batch_size"} <= set(offered)
    # values start around the setup's: learning rate 0.03 -> 0.01, 0.03, 0.09
    assert page.get_by_label("learning_rate values").input_value() == "0.01, 0.03, 0.09"

    # a value the server refuses: its 422 is shown, naming the field and the value
    page.get_by_label("learning_rate values").fill("0, 0.1")
    page.get_by_role("button", name="Run sweep").click()
    page.wait_for_function("document.querySelector('.sweep-status').textContent.includes('learning_rate')")
    assert "0" in page.locator(".sweep-status").inner_text() and page.locator(".sweep-status.sweep-error").count() == 1

    page.get_by_label("learning_rate values").fill("0.01, 0.1")
    page.get_by_label("and field").select_option("reg_rate")
    page.get_by_label("reg_rate values").fill("0, 0.001")
    page.get_by_label("Sweep seeds").fill("1")
    page.get_by_label("Sweep epochs").fill("20")
    # the view's reads come in pages of one run (the server's default page is larger): it must follow `next`
    page.route(re.compile(r".*/api/sweeps/[0-9a-f]+$"),
               lambda route: route.continue_(url=route.request.url + "?limit=1"))
    with page.expect_request("**/api/sweeps") as posted:
        page.get_by_role("button", name="Run sweep").click()
    body = posted.value.post_data_json
    assert body["grid"] == {"learning_rate": [0.01, 0.1], "reg_rate": [0, 0.001]}
    assert (body["seeds"], body["epochs"], body["config"]["hidden"], body["config"]["seed"]) == (1, 20, [3], 5)
    page.wait_for_function("document.querySelector('.sweep-status').textContent.startsWith('done')", timeout=60_000)
    assert page.locator(".sweep-status").inner_text() == "done: 4 of 4 runs"
    assert page.locator(".sweep-progress").evaluate("p => [p.value, p.max]") == [4, 4]

    # the table is the server's results, a row per run
    sweep_id = posted.value.response().json()["id"]
    sweep = get_json(f"{server.url}/api/sweeps/{sweep_id}")
    rows = page.locator(".sweep-table tbody tr")
    assert rows.count() == 4
    for row, result in zip(rows.all(), sweep["results"], strict=True):
        cells = row.locator("td").all_inner_texts()
        assert cells[:4] == [str(result["overrides"]["learning_rate"]), str(result["overrides"]["reg_rate"]), "5", "ok"]
        assert cells[6] == f"{result['test_loss']:.3f}"
    # the figure: the server's SVG, drawn
    page.wait_for_function("document.querySelector('.sweep-plot')?.naturalWidth > 0", timeout=30_000)
    with page.expect_response(f"**/api/sweeps/{sweep_id}/plot.svg?metric=accuracy") as drawn:
        page.get_by_label("Figure metric").select_option("accuracy")
    assert drawn.value.status == 200
    page.wait_for_function("document.querySelector('.sweep-plot')?.alt.includes('Accuracy')")
    shown = page.evaluate("fetch(document.querySelector('.sweep-plot').src).then((r) => r.text())")
    assert "test accuracy: mean over 1 seed (4 runs of 20 epochs)" in shown  # the image is the accuracy figure
    screenshot(page, "page-sweep.png")
    assert contrast_failures(page) == []  # the view and its table, as every text of the page

    # a row opens its run: learning rate 0.1, L2 rate 0.001, the run's seed, in the playground
    rows.nth(3).click()
    assert not dialog.is_visible()
    page.wait_for_function("window.nnplay.state.values.learning_rate === 0.1")
    values = page.evaluate("window.nnplay.state.values")
    assert (values["reg_rate"], values["seed"], values["hidden"]) == (0.001, 5, [3])
    assert "seed=5" in page.evaluate("location.hash")
