"""Practitioners, locations, service types and availability templates (staff write, all read)."""

from datetime import datetime
from typing import Self

from fastapi import APIRouter, Response
from pydantic import Field

from caremesh_kit.auth import AnyUser, Coordinator
from caremesh_kit.http import Resource
from caremesh_kit.openapi import Limit, Offset
from caremesh_scheduling.api.deps import Services
from caremesh_scheduling.domain import (
    Location,
    LocationDetails,
    Practitioner,
    PractitionerDetails,
    ServiceType,
    ServiceTypeDetails,
    Template,
    TemplateSpec,
)
from caremesh_scheduling.usecases import TemplateConflict

router = APIRouter(tags=["calendar"])


class PractitionerOut(PractitionerDetails):
    id: str

    @classmethod
    def of(cls, p: Practitioner) -> "PractitionerOut":
        return cls(id=p.id, **p.details.model_dump())


class LocationOut(LocationDetails):
    id: str

    @classmethod
    def of(cls, loc: Location) -> "LocationOut":
        return cls(id=loc.id, **loc.details.model_dump())


class ServiceTypeOut(ServiceTypeDetails):
    id: str

    @classmethod
    def of(cls, s: ServiceType) -> "ServiceTypeOut":
        return cls(id=s.id, **s.details.model_dump())


class TemplateIn(TemplateSpec):
    version: int | None = Field(default=None, ge=0, description="replace only this version (0: create only)")


class TemplateOut(TemplateSpec, Resource):
    practitioner_id: str
    location_id: str
    time_zone: str
    updated_at: datetime
    updated_by: str

    @classmethod
    def of(cls, t: Template, time_zone: str, **extra: object) -> Self:
        return cls(
            id=t.id,
            version=t.version,
            practitioner_id=t.practitioner_id,
            location_id=t.location_id,
            time_zone=time_zone,
            updated_at=t.updated_at,
            updated_by=t.updated_by,
            **t.spec.model_dump(),
            **extra,
        )


class TemplateChangeOut(TemplateOut):
    conflicts: list[TemplateConflict] = Field(description="appointments the new template no longer covers")


@router.post("/practitioners", status_code=201, response_model=PractitionerOut)
async def add_practitioner(body: PractitionerDetails, uc: Services, _: Coordinator) -> PractitionerOut:
    return PractitionerOut.of(await uc.calendar.add_practitioner(body))


@router.get("/practitioners", response_model=list[PractitionerOut])
async def list_practitioners(uc: Services, _: AnyUser, limit: Limit = 100, offset: Offset = 0) -> list[PractitionerOut]:
    return [PractitionerOut.of(p) for p in await uc.calendar.list_practitioners(limit, offset)]


@router.get("/practitioners/{practitioner_id}", response_model=PractitionerOut)
async def get_practitioner(practitioner_id: str, uc: Services, _: AnyUser) -> PractitionerOut:
    return PractitionerOut.of(await uc.calendar.practitioner(practitioner_id))


@router.post("/locations", status_code=201, response_model=LocationOut)
async def add_location(body: LocationDetails, uc: Services, _: Coordinator) -> LocationOut:
    return LocationOut.of(await uc.calendar.add_location(body))


@router.get("/locations", response_model=list[LocationOut])
async def list_locations(uc: Services, _: AnyUser) -> list[LocationOut]:
    return [LocationOut.of(loc) for loc in await uc.calendar.list_locations()]


@router.get("/locations/{location_id}", response_model=LocationOut)
async def get_location(location_id: str, uc: Services, _: AnyUser) -> LocationOut:
    return LocationOut.of(await uc.calendar.location(location_id))


@router.post("/service-types", status_code=201, response_model=ServiceTypeOut)
async def add_service_type(body: ServiceTypeDetails, uc: Services, _: Coordinator) -> ServiceTypeOut:
    return ServiceTypeOut.of(await uc.calendar.add_service_type(body))


@router.get("/service-types", response_model=list[ServiceTypeOut])
async def list_service_types(uc: Services, _: AnyUser) -> list[ServiceTypeOut]:
    return [ServiceTypeOut.of(s) for s in await uc.calendar.list_service_types()]


@router.get("/service-types/{service_type_id}", response_model=ServiceTypeOut)
async def get_service_type(service_type_id: str, uc: Services, _: AnyUser) -> ServiceTypeOut:
    return ServiceTypeOut.of(await uc.calendar.service_type(service_type_id))


@router.put(
    "/practitioners/{practitioner_id}/templates/{location_id}",
    response_model=TemplateChangeOut,
    responses={201: {"model": TemplateChangeOut}},
)
async def put_template(
    practitioner_id: str, location_id: str, body: TemplateIn, uc: Services, who: Coordinator, response: Response
) -> TemplateChangeOut:
    """Create (201) or replace (200) the weekly template. Existing appointments never move: the
    response lists those the new template no longer covers."""
    spec = TemplateSpec.model_validate(body.model_dump(exclude={"version"}))
    template, created, conflicts = await uc.calendar.put_template(
        practitioner_id, location_id, spec, body.version, who.subject
    )
    response.status_code = 201 if created else 200
    location = await uc.calendar.location(location_id)
    return TemplateChangeOut.of(template, location.time_zone, conflicts=conflicts)


@router.get("/practitioners/{practitioner_id}/templates/{location_id}", response_model=TemplateOut)
async def get_template(practitioner_id: str, location_id: str, uc: Services, _: AnyUser) -> TemplateOut:
    template = await uc.calendar.template(practitioner_id, location_id)
    return TemplateOut.of(template, (await uc.calendar.location(location_id)).time_zone)


@router.get("/practitioners/{practitioner_id}/templates", response_model=list[TemplateOut])
async def list_templates(practitioner_id: str, uc: Services, _: AnyUser) -> list[TemplateOut]:
    return [
        TemplateOut.of(t, (await uc.calendar.location(t.location_id)).time_zone)
        for t in await uc.calendar.templates_of(practitioner_id)
    ]
