"""An example body for every event type, made from its JSON Schema and checked by its model.

A model may give its own (``model_config = ConfigDict(json_schema_extra={"examples": [...]})``);
otherwise one is built from the field names and types, so that a new event never ships without one.
"""

import uuid
from typing import Any

from caremesh_contracts.base import Event

# Values by field name, where the name says more than the type.
_BY_NAME: dict[str, Any] = {
    "time_zone": "America/New_York",
    "service_code": "99213",
    "phone": "+15555550123",
    "given_name": "Ana",
    "practitioner_name": "Dr. Rivera",
    "payer": "ACME Health",
    "channel": "email",
    "template": "appointment.booked",
    "language": "en",
    "reason": "no coverage on the visit date",
    "reason_code": "coverage_inactive",
    "relationship": "daughter",
    "status": "active",
    "trigger": "appointment_requested",
}
_BY_FORMAT = {
    "date-time": "2026-03-02T14:30:00Z",
    "date": "2026-03-02",
    "email": "ana@example.org",
    "uri": "https://example.org/",
}


def _ref(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return defs[ref.rsplit("/", 1)[-1]] if ref else schema


def _value(name: str, schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    schema = _ref(schema, defs)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        options = [o for o in schema["anyOf"] if o.get("type") != "null"]
        return _value(name, options[0], defs) if options else None
    kind = schema.get("type")
    if kind == "object":
        if "properties" in schema:
            return {k: _value(k, v, defs) for k, v in schema["properties"].items()}
        return {"q1": _value(name, schema.get("additionalProperties") or {}, defs)}
    if kind == "array":
        return [_value(name.removesuffix("s"), schema.get("items") or {}, defs)]
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if "format" in schema:
        return _BY_FORMAT[schema["format"]]
    if name in _BY_NAME:
        return _BY_NAME[name]
    if name.endswith("_id") or name == "id":
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"caremesh:{name}"))
    if name.endswith(("_code", "_codes")):
        return "99213"
    return name.replace("_", " ")


def example(cls: type[Event]) -> dict[str, Any]:
    """A valid body of ``cls``: the model's own first example, or one built from its schema."""
    schema = cls.model_json_schema()
    given = (schema.get("examples") or [None])[0]
    built = given if given is not None else _value(cls.__name__, schema, schema.get("$defs", {}))
    return cls.model_validate(built).model_dump(mode="json")
