"""HTTP conformance: 405 with the right Allow, statuses and limits in the OpenAPI document."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("method,path,allow", [
    ("GET", "/api/train", "POST"), ("OPTIONS", "/api/train", "POST"), ("GET", "/api/compare", "POST"),
    ("PUT", "/api/runs", "GET, POST"), ("OPTIONS", "/api/runs", "GET, POST"), ("POST", "/api/health", "GET"),
    ("PATCH", "/api/runs/abc", "GET, DELETE"), ("POST", "/api/options", "GET"),
])
def test_a_wrong_method_on_an_api_route_is_405_with_every_allowed_method(client, method, path, allow):
    response = client.request(method, path)
    assert response.status_code == 405 and response.headers["allow"] == allow
    assert response.json()["detail"] == f"{method} is not allowed on {path}; allowed: {allow}"


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
