"""What each service's OpenAPI promises, read from the apps themselves (built, not started)."""

import asyncio
import importlib
import json
import re

import httpx
import pytest

from caremesh_kit.codes import NOT_BLANK
from caremesh_kit.devcluster import SERVICES
from caremesh_kit.openapi import MAX_OFFSET, NO_NUL

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


# What can hold a NUL: the store behind FerretDB (PostgreSQL) cannot, so every body string says so.
_SAFE_FORMATS = {"date", "date-time", "email", "uri"}  # parsed strictly by the models
_NUL_SAMPLES = ("\x00", "a\x00", "\x00a", "a\x00b")


def _strings(schema: object, schemas: dict, seen: set[str]):
    if isinstance(schema, list):
        for item in schema:
            yield from _strings(item, schemas, seen)
    elif isinstance(schema, dict):
        ref = schema.get("$ref")
        if ref:
            name = ref.rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                yield from _strings(schemas[name], schemas, seen)
            return
        if schema.get("type") == "string":
            yield schema
        if isinstance(schema.get("additionalProperties"), dict):
            yield {"type": "string", **schema.get("propertyNames", {}), "_key": True}
        for key, value in schema.items():
            if key != "propertyNames":
                yield from _strings(value, schemas, seen)


def test_no_body_string_or_map_key_can_hold_a_nul(spec: dict) -> None:
    schemas, checked = spec["components"]["schemas"], 0
    for path, method, op in _operations(spec):
        body = (op.get("requestBody") or {}).get("content", {}).get("application/json")
        for s in _strings(body and body["schema"], schemas, set()):
            checked += 1
            if "enum" in s or "const" in s:
                continue
            if "format" in s:
                assert s["format"] in _SAFE_FORMATS, (method, path, s)
                continue
            assert "pattern" in s, (method, path, s)
            assert not any(re.search(s["pattern"], sample) for sample in _NUL_SAMPLES), (method, path, s)
            assert s["pattern"] in (NO_NUL, NOT_BLANK) or (
                s["pattern"].startswith("^") and s["pattern"].endswith("$") and "\\S" not in s["pattern"]
            ), (method, path, s)  # anchored, over classes that leave the NUL out
    assert checked > 10


def test_a_nul_in_a_declared_field_is_refused_by_name_and_one_in_an_ignored_field_is_not() -> None:
    settings = importlib.import_module("caremesh_records.settings").RecordsSettings()
    app = importlib.import_module("caremesh_records.app").build(settings)
    patient = {"given_name": "Ana", "family_name": "Silva", "birth_date": "1980-02-03"}

    async def post(body: dict) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # not started: a refusal here never reaches the store
        async with httpx.AsyncClient(transport=transport, base_url="http://records") as client:
            return await client.post("/patients", json=body)

    declared = {**patient, "identifiers": [{"system": "urn:mrn", "value": "1"}, {"system": "x\x00", "value": "2"}]}
    refused = asyncio.run(post(declared))
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["identifiers.1.system"]
    ignored = asyncio.run(
        post({**patient, "note\x00": {"x": "\x00"}, "identifiers": [{"system": "s", "value": "v", "y": "\x00"}]})
    )
    assert ignored.status_code == 401, ignored.text  # past the NUL check, stopped by the missing token
