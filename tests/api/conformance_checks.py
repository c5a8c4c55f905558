"""Schemathesis hooks for the conformance run (loaded through SCHEMATHESIS_HOOKS).

``schema_valid_data_accepted`` replaces schemathesis' ``positive_data_acceptance``, narrowed to
what a JSON Schema can say. A request that fits the schema may still be refused with a 422 by a
rule no JSON Schema states: a custom validator (an IANA zone, a 5-minute step, "latest is before
earliest") or a domain rule (a code system, "start is required without a slot_id"), or an
Idempotency-Key already used with another body. Every other refusal of schema-valid data fails:
a type, pattern, length, bound or enum the server checks and the schema does not describe.
"""

import json

import schemathesis
from schemathesis.specs.openapi.checks import requires_case_meta, skips_on_unexpected_http_status

# What the server may answer to well-formed data besides success: the token, the caller's
# rights, an id that does not exist, a state that forbids the change.
ACCEPTABLE = {401, 403, 404, 409}
# Pydantic's prefixes for errors raised by a model's own validators (not by a schema constraint).
CUSTOM = ("Value error, ", "Assertion failed, ")


def _beyond_the_schema(body: object) -> bool:
    if not isinstance(body, dict) or body.get("status") != 422:
        return False
    errors = body.get("errors")
    if errors is None:
        return "field" in body  # a domain rule, naming the field it is about
    return bool(errors) and all(
        (e.get("in") == "header" and e.get("field") == "idempotency-key")
        or str(e.get("message", "")).startswith(CUSTOM)
        for e in errors
    )


@schemathesis.check
@skips_on_unexpected_http_status
@requires_case_meta
def schema_valid_data_accepted(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
):
    meta = case.meta
    if not meta.generation.mode.is_positive or response.status_code < 400 or response.status_code in ACCEPTABLE:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if response.status_code == 422 and _beyond_the_schema(body):
        return None
    raise AssertionError(
        f"Schema-valid data was refused with {response.status_code} by a rule the schema does not state: "
        f"{response.content[:600]!r}"
    )
