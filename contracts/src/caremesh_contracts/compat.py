"""Would a new JSON Schema of a published event type break a consumer of the old one?

A consumer of a ``v1`` type must keep working on every body the producer sends from now on, and a
consumer built from now on must still read every ``v1`` body already in the event log. So the
only changes a published type may take are new optional fields and new annotations (title,
description, examples). A field removed, retyped, newly required or no longer always present, or a
constraint changed either way (an enum, a format, a bound) needs a new version of the type.
"""

from typing import Any

# Keywords that describe and do not constrain.
_ANNOTATIONS = frozenset({"title", "description", "examples", "default", "$comment", "deprecated", "$id", "$schema"})
_WALKED = frozenset({"properties", "required", "items", "anyOf", "oneOf", "allOf", "$defs", "$ref"})


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = defs.get(schema["$ref"].rsplit("/", 1)[-1], {})
    return schema


def _compare(
    old: dict[str, Any], new: dict[str, Any], defs: tuple[dict[str, Any], dict[str, Any]], at: str
) -> list[str]:
    old, new = _resolve(old, defs[0]), _resolve(new, defs[1])
    where = at or "the body"
    found: list[str] = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_req, new_req = set(old.get("required", ())), set(new.get("required", ()))
    for name, schema in old_props.items():
        field = f"{at}.{name}" if at else name
        if name not in new_props:
            found.append(f"{field}: removed")
            continue
        if name in old_req and name not in new_req:
            found.append(f"{field}: no longer always present")
        found += _compare(schema, new_props[name], defs, field)
    for name in sorted(new_req - old_req):
        field = f"{at}.{name}" if at else name
        found.append(f"{field}: {'newly required' if name in old_props else 'new required field'}")
    for key in ("anyOf", "oneOf", "allOf"):
        a, b = old.get(key), new.get(key)
        if a is None and b is None:
            continue
        if a is None or b is None or len(a) != len(b):
            found.append(f"{where}: retyped ({key} changed)")
        else:
            for x, y in zip(a, b, strict=True):
                found += _compare(x, y, defs, at)
    if "items" in old or "items" in new:
        found += _compare(old.get("items", {}), new.get("items", {}), defs, f"{at}[]")
    for key in sorted((old.keys() | new.keys()) - _ANNOTATIONS - _WALKED):
        if key.startswith("x-"):
            continue
        if old.get(key) != new.get(key):
            what = "retyped" if key == "type" else f"{key} changed"
            found.append(f"{where}: {what} ({old.get(key)!r} -> {new.get(key)!r})")
    return found


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Why ``new`` would break a consumer of ``old`` (both whole schemas, with their ``$defs``);
    empty when it would not."""
    return _compare(old, new, (old.get("$defs", {}), new.get("$defs", {})), "")
