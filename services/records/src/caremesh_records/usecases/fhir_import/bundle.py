"""A FHIR R4 Bundle taken apart for import: its envelope checked with the R4B ``Bundle`` model,
its entries indexed so references between them resolve. Pure: no I/O.

Only the envelope is validated up front (a broken one is a 422 naming the field). Each resource
is parsed with its own R4B model when a handler needs it, so one bad resource is reported on its
own instead of failing the whole bundle, and types that are not imported cost nothing.
"""

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from caremesh_kit.errors import Invalid

TYPES = ("transaction", "collection")
SYNTHEA = "https://github.com/synthetichealth/synthea"
_LABEL = re.compile(r"[^A-Za-z0-9._-]+")


def loc(parts: tuple[Any, ...] | list[Any]) -> str:
    """A pydantic error location as a dotted path, the way the kit names request fields."""
    return ".".join(str(p) for p in parts)


def validation_reason(exc: ValidationError) -> str:
    """Which fields failed and why, never the values (they may be patient data)."""
    return "; ".join(f"{loc(e['loc']) or 'resource'}: {e['msg']}" for e in exc.errors()[:5])


class ResourceInvalid(Exception):
    """A resource its R4B model refuses (or of a type R4B does not have)."""


@dataclass
class Entry:
    index: int
    full_url: str | None
    resource_type: str
    raw: dict[str, Any]
    method: str | None  # transaction only
    _parsed: Any = field(default=None, repr=False)  # the R4B model of ``resource_type``

    @property
    def source_id(self) -> str:
        return str(self.raw.get("id") or self.full_url or f"entry.{self.index}")

    @property
    def resource(self) -> Any:
        """The resource parsed by its R4B model (a class known only at run time, hence Any: each
        mapper reads the fields of its own type); ResourceInvalid if it does not validate."""
        if self._parsed is None:
            try:
                model = get_fhir_model_class(self.resource_type)
            except (ValueError, KeyError) as exc:
                raise ResourceInvalid(f"{self.resource_type} is not a FHIR R4B resource type") from exc
            try:
                self._parsed = model.model_validate(self.raw)
            except ValidationError as exc:
                raise ResourceInvalid(f"not a valid {self.resource_type}: {validation_reason(exc)}") from None
        return self._parsed


@dataclass
class ParsedBundle:
    type: str
    source: str  # label of the sending system, part of the imported patients' identifier
    entries: list[Entry]
    _by_url: dict[str, Entry] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for e in self.entries:
            if e.full_url:
                self._by_url.setdefault(e.full_url, e)
            if "id" in e.raw:
                self._by_url.setdefault(f"{e.resource_type}/{e.raw['id']}", e)

    def resolve(self, reference: str | None) -> Entry | None:
        """The entry a reference points to: by fullUrl (``urn:uuid:``), ``Type/id``, an absolute
        URL ending in ``Type/id``, or a conditional ``Type?identifier=system|value``."""
        if not reference:
            return None
        if found := self._by_url.get(reference):
            return found
        if "?" in reference:
            return self._conditional(reference)
        tail = "/".join(reference.rstrip("/").split("/")[-2:])
        return self._by_url.get(tail)

    def _conditional(self, reference: str) -> Entry | None:
        resource_type, _, query = reference.partition("?")
        wanted = parse_qs(query).get("identifier", [])
        for e in self.entries:
            if e.resource_type != resource_type:
                continue
            for ident in e.raw.get("identifier") or []:
                pairs = {f"{ident.get('system')}|{ident.get('value')}", str(ident.get("value"))}
                if pairs & set(wanted):
                    return e
        return None

    def unresolved(self, entry: Entry) -> list[str]:
        """References in ``entry`` to resources the bundle does not hold (contained ones aside)."""
        out: list[str] = []
        for ref in _references(entry.raw):
            if not ref.startswith("#") and self.resolve(ref) is None and ref not in out:
                out.append(ref)
        return out


def _references(node: Any) -> list[str]:
    found: list[str] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, dict):
            ref = n.get("reference")
            if isinstance(ref, str):
                found.append(ref)
            stack.extend(v for k, v in n.items() if k != "contained" and isinstance(v, dict | list))
        elif isinstance(n, list):
            stack.extend(v for v in n if isinstance(v, dict | list))
    return found


def decode(body: bytes | str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(f"the body is not JSON: {exc}", field="body") from None


def parse(raw: Any, source: str | None = None) -> ParsedBundle:
    """Check the envelope of a transaction or collection Bundle; Invalid naming the field if not."""
    if not isinstance(raw, dict):
        raise Invalid("expected a FHIR Bundle (a JSON object)", field="resourceType")
    if raw.get("resourceType") != "Bundle":
        raise Invalid("resourceType must be Bundle", field="resourceType")
    if raw.get("type") not in TYPES:
        raise Invalid(f"Bundle.type must be one of {', '.join(TYPES)}", field="type")
    entries = raw.get("entry", [])
    if not isinstance(entries, list):
        raise Invalid("Bundle.entry must be a list", field="entry")
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or not isinstance(e.get("resource"), dict):
            raise Invalid(f"entry {i} has no resource", field=f"entry.{i}.resource")
        if not isinstance(e["resource"].get("resourceType"), str):
            raise Invalid(f"entry {i} has no resourceType", field=f"entry.{i}.resource.resourceType")
    try:  # the envelope alone: each resource is parsed by its own model when it is imported
        Bundle.model_validate({**raw, "entry": [{k: v for k, v in e.items() if k != "resource"} for e in entries]})
    except ValidationError as exc:
        errors = [{"field": loc(e["loc"]), "in": "body", "message": e["msg"]} for e in exc.errors()]
        raise Invalid(
            f"not a valid Bundle: {validation_reason(exc)}", field=errors[0]["field"], errors=errors
        ) from None
    if raw["type"] == "transaction":
        for i, e in enumerate(entries):
            if not isinstance(e.get("request"), dict):
                raise Invalid(f"entry {i} of a transaction has no request", field=f"entry.{i}.request")
    parsed = [
        Entry(
            index=i,
            full_url=e.get("fullUrl"),
            resource_type=e["resource"]["resourceType"],
            raw=e["resource"],
            method=(e.get("request") or {}).get("method"),
        )
        for i, e in enumerate(entries)
    ]
    return ParsedBundle(type=raw["type"], source=source_label(raw, parsed, source), entries=parsed)


def source_label(raw: dict[str, Any], entries: list[Entry], given: str | None) -> str:
    """Who sent the bundle: as given, else ``Bundle.meta.source``, else ``synthea`` for Synthea
    output, else ``fhir``. Folded to a URN-safe label."""
    label = given or (raw.get("meta") or {}).get("source")
    if not label:
        synthea = any(
            i.get("system") == SYNTHEA
            for e in entries
            if e.resource_type == "Patient"
            for i in e.raw.get("identifier") or []
        )
        label = "synthea" if synthea else "fhir"
    return _LABEL.sub("-", str(label)).strip("-")[:60] or "fhir"
