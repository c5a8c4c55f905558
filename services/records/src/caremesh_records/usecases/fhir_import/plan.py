"""From a Bundle to a plan: what to write for each resource, and which are skipped or rejected
before anything is written. Pure: no I/O (the writing is ``writer``).

Each resource type is imported by the ``Handler`` the table (``handlers.HANDLERS``) names for it:
``map`` turns one entry into items (pure), ``write`` stores one item (I/O).
"""

from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from caremesh_records.usecases.fhir_import.bundle import Entry, ParsedBundle, ResourceInvalid, parse
from caremesh_records.usecases.fhir_import.report import Outcome, ResourceOutcome


class Skip(Exception):
    """Not imported, and nothing wrong with it (e.g. entered in error, nothing to keep)."""


class Reject(Exception):
    """Not imported because something in it is wrong; the message says what (fields, not values)."""


@dataclass(frozen=True)
class Item:
    """One thing to write, made from one resource (a FamilyMemberHistory may make several)."""

    entry: int
    resource_type: str
    source_id: str
    key: str  # unique within the patient's import: the deterministic id is made from it
    patient: int | None  # the entry index of its Patient; None for a Patient
    data: Any  # what the handler's ``write`` takes
    warnings: tuple[str, ...] = ()


Mapper = Callable[[Entry, ParsedBundle], list[Item]]


@dataclass(frozen=True)
class Handler:
    map: Mapper
    write: Callable[[Any, Item], Awaitable[Any]]  # (writer.Sink, Item) -> writer.Result
    # Written as part of another type's items (a Goal with its CarePlan): its items come after
    # every other, so their outcome can follow what was written.
    carried: bool = False


@dataclass
class Plan:
    bundle_type: str
    source: str
    items: list[Item]  # the patients first, then the bundle's order, carried types last
    decided: list[ResourceOutcome]  # skipped or rejected without writing
    unresolved: Counter[str]
    resources: int  # entries in the bundle


DEFAULT_REASON = "resource type {type} is not imported by records"


def plan(raw: Any, handlers: Mapping[str, Handler], not_imported: Mapping[str, str], source: str | None = None) -> Plan:
    """Invalid (naming the field) for a bundle that is not a transaction or collection Bundle."""
    bundle = parse(raw, source)
    items: list[Item] = []
    decided: list[ResourceOutcome] = []
    unresolved: Counter[str] = Counter()

    def decide(e: Entry, outcome: Outcome, reason: str) -> None:
        decided.append(
            ResourceOutcome(
                entry=e.index, resource_type=e.resource_type, source_id=e.source_id, outcome=outcome, reason=reason
            )
        )

    # Patients first: every other item names its patient. Carried types last.
    def order(e: Entry) -> tuple[bool, bool, int]:
        handler = handlers.get(e.resource_type)
        return e.resource_type != "Patient", handler is not None and handler.carried, e.index

    ordered = sorted(bundle.entries, key=order)
    for e in ordered:
        handler = handlers.get(e.resource_type)
        if handler is None:
            decide(e, Outcome.SKIPPED, not_imported.get(e.resource_type, DEFAULT_REASON).format(type=e.resource_type))
            continue
        if e.method not in (None, "POST", "PUT"):
            decide(e, Outcome.SKIPPED, f"request method {e.method} is not imported (only POST and PUT)")
            continue
        try:
            made = handler.map(e, bundle)
        except (ResourceInvalid, Reject) as exc:
            decide(e, Outcome.REJECTED, str(exc))
            continue
        except Skip as exc:
            decide(e, Outcome.SKIPPED, str(exc))
            continue
        except (AttributeError, TypeError, ValueError) as exc:  # a shape no mapper foresaw: this one only
            decide(e, Outcome.REJECTED, f"could not be mapped ({type(exc).__name__})")
            continue
        missing = bundle.unresolved(e)
        unresolved.update(missing)
        notes = tuple(f"reference {r} is not in the bundle: not followed" for r in missing)
        items += [replace(i, warnings=i.warnings + notes) for i in made]
    return Plan(
        bundle_type=bundle.type,
        source=bundle.source,
        items=items,
        decided=decided,
        unresolved=unresolved,
        resources=len(bundle.entries),
    )
