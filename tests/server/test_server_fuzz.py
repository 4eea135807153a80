"""Schema-driven fuzzing: every operation of the OpenAPI document, with bodies generated from its own schema
(hypothesis-jsonschema) and with arbitrary JSON, must answer without a 5xx, with a status the document
lists for it, and with a body that matches the schema it documents for that status.

The app runs with small limits, which the document carries (server/http/openapi.py), so generated requests stay
cheap. ``FUZZ_EXAMPLES`` (default 25 per operation and kind) sets how hard it tries; a fixed seed keeps the
normal run reproducible, ``FUZZ_RANDOM=1`` explores afresh (without shrinking what it finds).
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator
from server_helpers import TestClient, make_settings

from nnplay.server.main import create_app

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
EXPLORE = bool(os.environ.get("FUZZ_RANDOM"))
FUZZ = hypothesis_settings(max_examples=EXAMPLES, deadline=None, derandomize=not EXPLORE, database=None,
                           suppress_health_check=list(HealthCheck),
                           phases=[Phase.generate] if EXPLORE else list(Phase))  # exploring: report, not shrink
SMALL_LIMITS = {"max_epochs": 4, "max_layers": 2, "max_neurons": 3, "max_samples": 60, "min_samples": 20,
                "max_background_runs": 2, "max_body_bytes": 64 << 10}


@pytest.fixture(scope="module")
def fuzzed():
    with TestClient(create_app(make_settings(**SMALL_LIMITS))) as client:
        yield client, client.get("/openapi.json").json()


def inline(node: Any, components: dict, seen: tuple = ()) -> Any:
    """``node`` with every ``$ref`` to a component replaced by the component itself."""
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[1]
            assert name not in seen, f"recursive schema {name}"
            return inline(components[name], components, (*seen, name))
        return {key: inline(value, components, seen) for key, value in node.items()}
    if isinstance(node, list):
        return [inline(value, components, seen) for value in node]
    return node


def operations() -> list[tuple[str, str]]:
    schema = create_app(make_settings(**SMALL_LIMITS)).openapi()
    return [(path, method) for path, item in schema["paths"].items() for method in item]


def check_answer(response, operation: dict, components: dict) -> None:
    """No 5xx; a documented status; a JSON body that matches its documented schema."""
    status = str(response.status_code)
    assert response.status_code < 500, response.text[:500]
    documented = operation["responses"]
    assert status in documented, f"{status} is not documented: {response.text[:300]}"
    content = documented[status].get("content", {})
    if "application/json" in content and "schema" in content["application/json"]:
        schema = inline(content["application/json"]["schema"], components)
        errors = sorted(Draft202012Validator(schema).iter_errors(response.json()), key=str)
        assert not errors, f"{status} body does not match its schema: {errors[0].message[:300]}"


def request(client, method: str, path: str, body: Any):
    url = path.replace("{run_id}", "some-run")
    if body is None:
        return client.request(method.upper(), url)
    return client.request(method.upper(), url, content=json.dumps(body), headers={"content-type": "application/json"})


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                    | st.text(max_size=10), lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # a reg_rate of 6e307 is valid input:
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the run diverges, the answer says so
@pytest.mark.parametrize("path, method", operations())
def test_every_operation_answers_schema_generated_requests_without_5xx(fuzzed, path, method):
    client, document = fuzzed
    components = document["components"]["schemas"]
    operation = document["paths"][path][method]
    body_schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    bodies = from_schema(inline(body_schema, components)) if body_schema else st.none()

    @FUZZ
    @given(body=bodies)
    def valid_per_schema(body):
        check_answer(request(client, method, path, body), operation, components)

    @FUZZ
    @given(body=JSON if body_schema else st.none())
    def arbitrary_json(body):
        check_answer(request(client, method, path, body), operation, components)

    valid_per_schema()
    arbitrary_json()
