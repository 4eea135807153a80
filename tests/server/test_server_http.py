"""HTTP conformance: 405 with the right Allow, HEAD wherever GET is served, statuses and limits in the OpenAPI
document."""

from __future__ import annotations

from pathlib import Path

import pytest
from server_helpers import wait_until


@pytest.mark.parametrize("method,path,allow", [
    ("GET", "/api/train", "POST"), ("OPTIONS", "/api/train", "POST"), ("GET", "/api/compare", "POST"),
    ("PUT", "/api/runs", "GET, HEAD, POST"), ("OPTIONS", "/api/runs", "GET, HEAD, POST"),
    ("POST", "/api/health", "GET, HEAD"), ("PATCH", "/api/runs/abc", "GET, HEAD, DELETE"),
    ("POST", "/api/options", "GET, HEAD"),
])
def test_a_wrong_method_on_an_api_route_is_405_with_every_allowed_method(client, method, path, allow):
    response = client.request(method, path)
    assert response.status_code == 405 and response.headers["allow"] == allow
    assert response.json()["detail"] == f"{method} is not allowed on {path}; allowed: {allow}"


def get_paths(app, run_id: str, ids: dict[str, str] | None = None) -> list[str]:
    """A path for every GET route of the app, read from the app itself (a new route is covered without
    listing it here), and a file of the page's static mount. A path parameter named in ``ids`` takes its
    value there, any other ``run_id``."""
    from fastapi import routing

    from nnplay.server.http.methods import PageMount

    # FastAPI ≥ 0.160 keeps included routers whole in app.routes; iter_route_contexts walks into them
    contexts = getattr(routing, "iter_route_contexts", lambda routes: routes)(app.routes)
    paths = []
    for context in contexts:
        route = getattr(context, "original_route", context)
        if isinstance(route, PageMount):
            paths.append("/" + next(p.name for p in Path(route.app.directory).iterdir() if p.is_file()))
        elif "GET" in (getattr(route, "methods", None) or ()):
            values = {name: (ids or {}).get(name, run_id) for name in route.param_convertors}
            paths.append(context.path_format.format(**values))
    return paths


ROOM_PATHS = ("/api/rooms/", "/r/")  # paths of a classroom room need a room (and its key), not a run id


def test_head_answers_every_get_route_with_its_headers_and_no_body(client_for, tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>nnplay</title>")
    (tmp_path / "app.js").write_text("export const answer = 42;")
    with client_for(frontend_dir=tmp_path) as c:
        run_id = c.post("/api/runs", json={"config": {"dataset": "xor", "hidden": [2]}, "epochs": 2}).json()["id"]
        setup_id = c.post("/api/setups", json={"link": "#dataset=xor"}).json()["id"]
        network = {"config": {"dataset": "xor", "hidden": [1]},
                   "weights": [{"W": [[1, 2]], "b": [0]}, {"W": [[3]], "b": [0]}]}
        network_id = c.post("/api/networks", json=network).json()["id"]
        sweep_id = c.post("/api/sweeps", json={"config": {"dataset": "xor", "hidden": [2]}, "epochs": 2}).json()["id"]
        # finished first: a sweep's JSON and its figure change as its runs end, between a GET and its HEAD
        wait_until(lambda: c.get(f"/api/sweeps/{sweep_id}").json()["status"] == "done", "the sweep finished")
        paths = get_paths(c.app, run_id, {"setup_id": setup_id, "sweep_id": sweep_id,
                                          "network_id": network_id})
        assert {"/", "/api/health", "/api/options", f"/api/runs/{run_id}", "/app.js", f"/s/{setup_id}"} <= set(paths)
        for path in (p for p in paths if not p.startswith(ROOM_PATHS)):  # a room's: test_server_rooms.py
            got, head = c.get(path), c.head(path)
            assert got.status_code == 200 and head.status_code == 200, path
            streamed = path == f"/api/sweeps/{sweep_id}"  # a sweep's page is streamed: no length is known up front
            assert head.content == b"" and (streamed or int(head.headers["content-length"]) == len(got.content)), path
            assert head.headers["content-type"] == got.headers["content-type"], path
        post_only = c.head("/api/train")
        assert post_only.status_code == 405 and post_only.headers["allow"] == "POST"


def test_unknown_api_paths_are_json_404s_not_the_pages_files(client_for, tmp_path):
    (tmp_path / "app.js").write_text("export {};")
    with client_for(frontend_dir=tmp_path) as c:
        assert c.get("/app.js").text == "export {};"
        missing = c.get("/api/nothing")
        assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}


def test_a_server_without_the_page_answers_404_for_its_files(client):
    assert client.get("/js/main.js").status_code == 404


def test_every_operation_documents_413_and_a_body_for_each_error(client):
    schema = client.get("/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "413" in responses, (method, path)
            for status, response in responses.items():
                if status.startswith("4"):
                    assert "schema" in response["content"]["application/json"], (method, path, status)
    assert {"404", "422"} <= set(schema["paths"]["/api/runs/{run_id}"]["get"]["responses"])
    assert "429" in schema["paths"]["/api/runs"]["post"]["responses"]


def test_the_servers_limits_are_in_the_schema(client_for):
    with client_for(max_epochs=123, max_layers=3, max_neurons=7, max_samples=900, max_grid_density=150) as c:
        components = c.get("/openapi.json").json()["components"]["schemas"]
    for request in ("TrainRequest", "CompareRequest", "RenderRequest", "GifRequest"):
        assert components[request]["properties"]["epochs"]["maximum"] == 123
    config = components["TrainRequest"]["properties"]["config"]["properties"]
    assert config["hidden"]["maxItems"] == 3 and config["hidden"]["items"]["maximum"] == 7
    assert config["n_samples"]["anyOf"][0]["maximum"] == 900 and config["batch_size"]["maximum"] == 5000
    assert components["TrainRequest"]["properties"]["density"]["maximum"] == 150
    assert components["LayerWeights"]["properties"]["W"]["items"]["items"]["maximum"] == pytest.approx(3.4028235e38)
    assert components["View"]["properties"]["density"]["anyOf"][0]["maximum"] == 150
