"""The OpenAPI each service serves, made to say what the service answers.

FastAPI describes only the happy path and its own validation error shape. Every service answers
more: RFC 9457 problems (``application/problem+json``, with the kit's ``errors`` extension) for
401/403 from the token check, 404/409/422 from the domain, 422 from request validation and 500
from anything unexpected; the ``Idempotency-Key`` header on every POST and ``Idempotent-Replayed``
on a replay; ``x-correlation-id`` on every response. ``describe(app)`` post-processes the
generated document once, so no route lists these by hand. Pagination parameters are defined here
too, with bounds, so that no service passes an unbounded number to the store.
"""

import contextlib
import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi

PROBLEM = "application/problem+json"
IDEMPOTENCY_KEY = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
CORRELATION = "x-correlation-id"

# No NUL in a parameter or a declared body string: a PostgreSQL-backed store cannot hold one.
NO_NUL = "^[^\\x00]*$"
_UNSAFE = ("enum", "const", "pattern", "format")  # strings these already keep free of NUL

# Pages: a deeper page than this is not a page a person reads; MongoDB's skip is an int64.
MAX_OFFSET = 1_000_000
MAX_LIMIT = 500


Loc = tuple[str | int, ...]


def nul_fields(value: Any, schema: Any, schemas: dict[str, Any], at: Loc = ("body",)) -> list[Loc]:
    """Where ``value`` breaks a ``NO_NUL`` that ``schema`` states: declared strings and map keys
    only, so a NUL in a property the model ignores is ignored too, as the document says."""
    if not isinstance(schema, dict):
        return []
    if "$ref" in schema:
        return nul_fields(value, schemas.get(schema["$ref"].rsplit("/", 1)[-1]), schemas, at)
    found: list[Loc] = []
    if isinstance(value, str) and schema.get("pattern") == NO_NUL and "\x00" in value:
        found.append(at)
    elif isinstance(value, dict):
        declared, extra = schema.get("properties") or {}, schema.get("additionalProperties")
        for key, item in value.items():
            if key in declared:
                found += nul_fields(item, declared[key], schemas, (*at, key))
            elif isinstance(extra, dict):
                if (schema.get("propertyNames") or {}).get("pattern") == NO_NUL and "\x00" in key:
                    found.append((*at, key))
                found += nul_fields(item, extra, schemas, (*at, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += nul_fields(item, schema.get("items"), schemas, (*at, i))
    options = [*schema.get("anyOf", ()), *schema.get("oneOf", ()), *schema.get("allOf", ())]
    tag = (schema.get("discriminator") or {}).get("propertyName")
    mapping = (schema.get("discriminator") or {}).get("mapping") or {}
    if tag and isinstance(value, dict) and value.get(tag) in mapping:
        options = [{"$ref": mapping[value[tag]]}]  # only the variant the tag names
    for option in options:
        found += nul_fields(value, option, schemas, at)
    return list(dict.fromkeys(found))


def _body_schema(request: Request) -> Any:
    route = request.scope.get("route")
    spec = request.app.openapi()
    op = spec.get("paths", {}).get(getattr(route, "path_format", ""), {}).get(request.method.lower(), {})
    return ((op.get("requestBody") or {}).get("content") or {}).get("application/json", {}).get("schema")


async def refuse_nul(request: Request) -> None:
    """The app-wide dependency that enforces ``NO_NUL`` with a 422 naming the parameter or field."""
    found: list[Loc] = [("query", k) for k, v in request.query_params.multi_items() if "\x00" in v]
    found += [("path", k) for k, v in request.path_params.items() if "\x00" in str(v)]
    if request.method in ("POST", "PUT", "PATCH"):
        body = await request.body()  # read by FastAPI already; cached
        if b"\\u0000" in body:  # JSON can spell a NUL only as this escape
            with contextlib.suppress(ValueError):  # not JSON: the route's own validation answers
                schema = _body_schema(request)
                found += nul_fields(json.loads(body), schema, request.app.openapi()["components"]["schemas"])
    if found:
        raise RequestValidationError(
            [
                {"loc": loc, "msg": "must not contain a NUL character", "type": "string_pattern_mismatch"}
                for loc in found
            ]
        )


def limit_query(maximum: int = MAX_LIMIT, minimum: int = 1, **kw: Any) -> Any:
    """A page size parameter, bounded."""
    return Query(ge=minimum, le=maximum, description=kw.pop("description", "items per page"), **kw)


def offset_query(**kw: Any) -> Any:
    """A page offset parameter, bounded (``alias="_offset"`` for FHIR searches)."""
    return Query(ge=0, le=MAX_OFFSET, description=kw.pop("description", "items to skip"), **kw)


Limit = Annotated[int, limit_query()]
Offset = Annotated[int, offset_query()]

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details, with the fields at fault in `errors` for invalid requests. "
    "Domain errors may add members naming the field or states involved (e.g. `field`, `current_version`).",
    "type": "object",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string", "description": "always about:blank"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "the request's path"},
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}},
    },
    "additionalProperties": True,
}
FIELD_ERROR_SCHEMA: dict[str, Any] = {
    "title": "FieldError",
    "type": "object",
    "required": ["field", "message"],
    "properties": {
        "field": {"type": "string", "description": "the field as the client sent it, e.g. items.0.code"},
        "in": {"anyOf": [{"type": "string", "enum": ["body", "query", "path", "header"]}, {"type": "null"}]},
        "message": {"type": "string"},
    },
}
FHIR_RESOURCE_SCHEMA: dict[str, Any] = {
    "title": "FhirResource",
    "description": "A FHIR R4 resource (R4B models), e.g. a Bundle, Patient or Questionnaire",
    "type": "object",
    "required": ["resourceType"],
    "properties": {"resourceType": {"type": "string"}},
    "additionalProperties": True,
}

_WHY = {
    400: "Bad request: the body could not be parsed",
    401: "Unauthorized: no bearer token, or an invalid or expired one",
    403: "Forbidden: the caller's roles or patient do not allow this",
    404: "Not found",
    409: "Conflict: a concurrent or stale change, a state that forbids it, or a key still in use",
    422: "Invalid request: the fields at fault are named",
    500: "Unexpected error: the detail points to the correlation id",
    503: "Not ready: a dependency is unavailable",
}
_METHODS = ("get", "put", "post", "delete", "patch", "options", "head")


def _header(description: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": schema}


def _problem_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": _WHY.get(status, "Error"),
        "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if status == 401:
        response["headers"] = {"WWW-Authenticate": _header("Bearer", {"type": "string"}, required=True)}
    return response


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter cannot be null: ``str | None = None`` means it may be absent."""
    options = schema.get("anyOf")
    if not options:
        return schema
    rest = [s for s in options if s.get("type") != "null"]
    if len(rest) == len(options):
        return schema
    keep = {k: v for k, v in schema.items() if k != "anyOf"}
    return {**keep, **rest[0]} if len(rest) == 1 else {**keep, "anyOf": rest}


def _statuses(path: str, method: str, op: dict[str, Any]) -> set[int]:
    found = {500}
    if op.get("security"):
        found |= {401, 403}
    params = op.get("parameters", [])
    if any(p["in"] in ("path", "query") for p in params) or "requestBody" in op:
        found.add(404)  # something named by an id in the path, the query or the body
    if "requestBody" in op:
        found.add(400)  # a body that is not JSON at all
    if params or "requestBody" in op or method == "post":
        found.add(422)
    if method in ("post", "put", "patch", "delete"):
        found.add(409)
    if path == "/readyz":
        found.add(503)
    return found


def _operation(path: str, method: str, op: dict[str, Any]) -> None:
    for p in op.get("parameters", []):
        if "schema" in p:
            p["schema"] = _without_null(p["schema"])
            if p["in"] in ("path", "query") and p["schema"].get("type") == "string":
                p["schema"].setdefault("pattern", NO_NUL)
    for body in ((op.get("requestBody") or {}).get("content") or {}).values():
        _no_nul(body.get("schema"))
    responses: dict[str, Any] = op.setdefault("responses", {})
    declared = {int(c) for c in responses if c.isdigit() and int(c) >= 400}
    for status in _statuses(path, method, op) | declared:
        responses[str(status)] = _problem_response(status)
    for code, response in responses.items():
        headers = response.setdefault("headers", {})
        headers[CORRELATION] = _header("the request's correlation id, or a new one", {"type": "string"}, True)
        if method == "post" and code.startswith("2"):
            headers[REPLAYED] = _header(
                "true when this is the stored answer to an earlier request with the same Idempotency-Key",
                {"type": "string", "enum": ["true"]},
            )
        for media, body in (response.get("content") or {}).items():
            if media.endswith("fhir+json"):
                body["schema"] = {"$ref": "#/components/schemas/FhirResource"}
    op["responses"] = dict(sorted(responses.items()))
    if method == "post":
        params = op.setdefault("parameters", [])
        if not any(p["in"] == "header" and p["name"].lower() == IDEMPOTENCY_KEY.lower() for p in params):
            params.append(
                {
                    "name": IDEMPOTENCY_KEY,
                    "in": "header",
                    "required": False,
                    "description": "a retry with the same key and body gets the first answer again "
                    "(scoped to the caller and the path)",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                }
            )


def _tag_required(schema: Any, schemas: dict[str, Any]) -> None:
    """A discriminated union needs its tag in the body, even where the model gives it a default."""
    if isinstance(schema, list):
        for item in schema:
            _tag_required(item, schemas)
        return
    if not isinstance(schema, dict):
        return
    tag = (schema.get("discriminator") or {}).get("propertyName")
    for ref in (schema.get("discriminator") or {}).get("mapping", {}).values() if tag else ():
        variant = schemas.get(ref.rsplit("/", 1)[-1], {})
        if tag not in variant.setdefault("required", []):
            variant["required"].append(tag)
    for value in schema.values():
        _tag_required(value, schemas)


def _no_nul(schema: Any) -> None:
    """State ``NO_NUL`` on every free-text string and map key (``nul_fields`` enforces it)."""
    if isinstance(schema, list):
        for item in schema:
            _no_nul(item)
    elif isinstance(schema, dict):
        if schema.get("type") == "string" and not set(_UNSAFE) & schema.keys():
            schema["pattern"] = NO_NUL
        if schema.get("type") == "object" and isinstance(schema.get("additionalProperties"), dict):
            schema.setdefault("propertyNames", {"pattern": NO_NUL})
        for key, value in schema.items():
            if key != "propertyNames":
                _no_nul(value)


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document, with the kit's answers described on every operation."""
    spec = get_openapi(title=app.title, version=app.version, routes=app.routes, description=app.description)
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["FieldError"] = FIELD_ERROR_SCHEMA
    schemas["FhirResource"] = FHIR_RESOURCE_SCHEMA
    for schema in list(schemas.values()):
        _tag_required(schema, schemas)
        _no_nul(schema)
    for path, item in spec.get("paths", {}).items():
        for method in _METHODS:
            if method in item:
                _operation(path, method, item[method])
    return spec


def describe(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """Serve ``document(app)`` (built once) as the app's ``/openapi.json``."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return openapi
