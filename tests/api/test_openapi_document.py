"""What each service's OpenAPI promises, read from the apps themselves (built, not started)."""

import importlib
import json

import pytest

from caremesh_kit.devcluster import SERVICES
from caremesh_kit.openapi import MAX_OFFSET

SETTINGS = {
    "scheduling": "SchedulingSettings",
    "records": "RecordsSettings",
    "insurance": "InsuranceSettings",
    "notifications": "NotificationsSettings",
}


@pytest.fixture(scope="module", params=list(SERVICES))
def spec(request: pytest.FixtureRequest) -> dict:
    service = request.param
    settings = getattr(importlib.import_module(f"caremesh_{service}.settings"), SETTINGS[service])(api_docs=True)
    app = importlib.import_module(f"caremesh_{service}.app").build(settings)
    return app.openapi()


def _operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            yield path, method, op


def test_every_error_is_the_one_problem_schema(spec: dict) -> None:
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, method, op in _operations(spec):
        for status, response in op["responses"].items():
            if int(status) >= 400:
                assert response["content"] == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, (method, path, status)
        if op.get("security"):
            assert {"401", "403"} <= set(op["responses"]), (method, path)


def test_every_post_takes_an_idempotency_key_and_says_when_it_replays(spec: dict) -> None:
    for path, method, op in _operations(spec):
        if method == "post":
            assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in op["parameters"]), path
            assert {"409", "422"} <= set(op["responses"]), path
            ok = [r for s, r in op["responses"].items() if s.startswith("2")]
            assert all("Idempotent-Replayed" in r["headers"] for r in ok), path


def test_every_offset_and_limit_is_bounded(spec: dict) -> None:
    found = 0
    for path, _, op in _operations(spec):
        for p in op.get("parameters", []):
            if p["name"] in ("offset", "_offset"):
                found += 1
                assert p["schema"]["maximum"] == MAX_OFFSET, path
            if p["name"] in ("limit", "_count"):
                assert "maximum" in p["schema"], path
    assert found


def test_no_parameter_is_null_and_no_schema_has_unknown_bounds(spec: dict) -> None:
    text = json.dumps(spec)
    assert '"ge":' not in text and '"le":' not in text
    for path, _, op in _operations(spec):
        for p in op.get("parameters", []):
            assert '"null"' not in json.dumps(p["schema"]), (path, p["name"])


def test_fhir_answers_are_fhir_json_objects(spec: dict) -> None:
    fhir = [
        (path, r["content"])
        for path, _, op in _operations(spec)
        for s, r in op["responses"].items()
        if s.startswith("2") and path.startswith("/fhir") and "application/fhir+json" in r.get("content", {})
    ]
    if spec["info"]["title"] != "CareMesh records":
        return
    assert len(fhir) >= 6
    for path, content in fhir:
        assert content["application/fhir+json"]["schema"] == {"$ref": "#/components/schemas/FhirResource"}, path
        assert "application/json" not in content, path
