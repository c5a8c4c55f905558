"""Records' data served as FHIR R4B: read, search by patient, and Patient/$everything.

Read-only. Every resource is built with the R4B models (see ``mapping``); responses are
``application/fhir+json``. Errors stay RFC 9457 problems, like the rest of the API.
"""

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request, Response
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.resource import Resource

from caremesh_kit.audit import Access, PatientAccess
from caremesh_kit.errors import Invalid, NotFound
from caremesh_kit.openapi import limit_query, offset_query
from caremesh_records.api.deps import Services
from caremesh_records.domain.fhir import careplan, family, mapping
from caremesh_records.domain.history import KINDS, Kind
from caremesh_records.usecases import UseCases

FHIR_JSON = "application/fhir+json"
PAGE = 500  # what one read of the store asks for when everything is wanted

T = TypeVar("T")

router = APIRouter(prefix="/fhir", tags=["fhir"])

# FHIR resource type -> the history kind stored under it.
HISTORY_TYPES: dict[str, Kind] = {KINDS[kind].RESOURCE: kind for kind in Kind}
ENCOUNTER = "Encounter"
RELATED_PERSON, CONSENT = "RelatedPerson", "Consent"
CARE_PLAN, GOAL = "CarePlan", "Goal"
# Types searchable by patient, in the order $everything lists them.
SEARCHABLE = (*HISTORY_TYPES, ENCOUNTER, RELATED_PERSON, CONSENT, CARE_PLAN, GOAL)


class FhirResponse(Response):
    media_type = FHIR_JSON


def _json(resource: Resource) -> FhirResponse:
    return FhirResponse(resource.model_dump_json())


def _base(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}{router.prefix}"


def _patient_id(value: str) -> str:
    """The ``patient`` search parameter: an id, or a reference ``Patient/{id}``."""
    return value.removeprefix("Patient/")


def _known(resource_type: str) -> None:
    if resource_type != "Patient" and resource_type not in SEARCHABLE:
        raise NotFound(
            f"resource type {resource_type} is not served here; served: {', '.join(('Patient', *SEARCHABLE))}"
        )


async def _resources_of(uc: UseCases, resource_type: str, patient_id: str, limit: int, offset: int) -> list[Resource]:
    if resource_type == ENCOUNTER:
        return [mapping.encounter(e) for e in await uc.patients.encounters_of(patient_id, limit, offset)]
    if resource_type == CARE_PLAN:
        return [careplan.care_plan(p) for p in await uc.care_plans.of_patient(patient_id, None, limit, offset)]
    if resource_type == GOAL:  # the goals of every plan, newest plan first
        plans = await _all(partial(uc.care_plans.of_patient, patient_id, None))
        now = uc.clock()
        goals: list[Resource] = [careplan.goal(p, g, now) for p in plans for g in p.goals]
        return goals[offset : offset + limit]
    if resource_type in (RELATED_PERSON, CONSENT):
        people = (await uc.family.of_patient(patient_id))[offset : offset + limit]
        if resource_type == RELATED_PERSON:
            return [family.related_person(p) for p in people]
        return [c for p in people if (c := family.consent(p)) is not None]
    entries = await uc.history.entries_of(HISTORY_TYPES[resource_type], patient_id, None, limit, offset)
    return [mapping.history_entry(e) for e in entries]


async def _all(fetch: Callable[[int, int], Awaitable[list[T]]]) -> list[T]:
    out: list[T] = []
    while True:
        page = await fetch(PAGE, len(out))
        out.extend(page)
        if len(page) < PAGE:
            return out


def _searchset(
    request: Request, resources: list[Resource], total: int | None = None, links: list[dict[str, str]] | None = None
) -> Bundle:
    base = _base(request)
    bundle: dict[str, Any] = {
        "type": "searchset",
        "link": links or [{"relation": "self", "url": str(request.url)}],
        "entry": [
            {"fullUrl": f"{base}/{r.get_resource_type()}/{r.id}", "resource": r, "search": {"mode": "match"}}
            for r in resources
        ]
        or None,
    }
    if total is not None:
        bundle["total"] = total
    return Bundle(**{k: v for k, v in bundle.items() if v is not None})


async def _read_all(access: Access, patient_id: str) -> None:
    """Audit reading a patient's every resource (each type, as the other list routes do)."""
    await access.read("Patient", patient_id, patient_id)
    for resource_type in SEARCHABLE:
        await access.read(resource_type, "*", patient_id)


# -- routes ---------------------------------------------------------------------------------------


@router.get(
    "/Patient/{patient_id}/$everything",
    response_class=FhirResponse,
    summary="A Bundle of the patient and all their resources",
)
async def everything(patient_id: str, request: Request, uc: Services, access: PatientAccess) -> Response:
    await _read_all(access, patient_id)
    resources: list[Resource] = [mapping.patient(await uc.patients.get(patient_id))]
    for resource_type in SEARCHABLE:
        resources += await _all(partial(_resources_of, uc, resource_type, patient_id))
    return _json(_searchset(request, resources, total=len(resources)))


@router.get("/Patient/{patient_id}", response_class=FhirResponse, summary="A patient")
async def read_patient(patient_id: str, uc: Services, access: PatientAccess) -> Response:
    await access.read("Patient", patient_id, patient_id)
    return _json(mapping.patient(await uc.patients.get(patient_id)))


@router.get(
    "/{resource_type}",
    response_class=FhirResponse,
    summary="Search a type by patient: a searchset Bundle, newest recorded first (encounters oldest first)",
)
async def search(
    resource_type: str,
    request: Request,
    uc: Services,
    access: PatientAccess,
    patient: Annotated[str | None, Query(description="Patient id or Patient/{id}")] = None,
    id_: Annotated[str | None, Query(alias="_id", description="Patient search: the id")] = None,
    count: Annotated[int, limit_query(alias="_count")] = 100,
    offset: Annotated[int, offset_query(alias="_offset")] = 0,
) -> Response:
    _known(resource_type)
    if resource_type == "Patient":
        if not (id_ or patient):
            raise Invalid("search Patient by id: ?_id={id}", field="_id")
        patient_id = _patient_id(id_ or patient or "")
        await access.read("Patient", patient_id, patient_id)
        return _json(_searchset(request, [mapping.patient(await uc.patients.get(patient_id))], total=1))
    if not patient:
        raise Invalid(f"search {resource_type} by patient: ?patient={{id}}", field="patient")
    patient_id = _patient_id(patient)
    await access.read(resource_type, "*", patient_id)
    resources = await _resources_of(uc, resource_type, patient_id, count, offset)
    page = f"{_base(request)}/{resource_type}?patient={patient_id}&_count={count}"
    links = [{"relation": "self", "url": f"{page}&_offset={offset}"}]
    if len(resources) == count:  # maybe more: a client follows "next" until it is absent
        links.append({"relation": "next", "url": f"{page}&_offset={offset + count}"})
    return _json(_searchset(request, resources, links=links))


@router.get("/{resource_type}/{resource_id}", response_class=FhirResponse, summary="One resource")
async def read(resource_type: str, resource_id: str, uc: Services, access: PatientAccess) -> Response:
    _known(resource_type)
    if resource_type in (RELATED_PERSON, CONSENT):
        person = await uc.family.find(resource_id)
        resource = None
        if person is not None:
            resource = family.related_person(person) if resource_type == RELATED_PERSON else family.consent(person)
        if person is None or resource is None:
            raise NotFound(f"{resource_type} {resource_id} not found")
        await access.read(resource_type, resource_id, person.patient_id)
        return _json(resource)
    if resource_type in (CARE_PLAN, GOAL):
        plan = await (
            uc.care_plans.find(resource_id) if resource_type == CARE_PLAN else uc.care_plans.with_goal(resource_id)
        )
        if plan is None:
            raise NotFound(f"{resource_type} {resource_id} not found")
        await access.read(resource_type, resource_id, plan.patient_id)
        if resource_type == CARE_PLAN:
            return _json(careplan.care_plan(plan))
        return _json(careplan.goal(plan, plan.goal(resource_id), uc.clock()))
    if resource_type == ENCOUNTER:
        found = await uc.patients.encounter(resource_id)
        if found is None:
            raise NotFound(f"Encounter {resource_id} not found")
        await access.read(ENCOUNTER, resource_id, found.patient_id)
        return _json(mapping.encounter(found))
    kind = HISTORY_TYPES[resource_type]
    entry = await uc.history.find(resource_id)
    if entry is None or entry.kind != kind:
        raise NotFound(f"{resource_type} {resource_id} not found")
    # Audited (and refused to another patient) once the patient is known: before it is sent.
    await access.read(resource_type, resource_id, entry.patient_id)
    return _json(mapping.history_entry(entry))
