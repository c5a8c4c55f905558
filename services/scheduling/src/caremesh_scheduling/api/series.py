"""Recurring series: create (conflicts per occurrence), read, cancel by scope."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from caremesh_kit.audit import Action, CoordinatorAccess, PatientAccess
from caremesh_kit.auth import Role
from caremesh_kit.errors import Invalid
from caremesh_kit.http import Resource
from caremesh_kit.openapi import limit_query
from caremesh_scheduling.api.appointments import AppointmentRequest
from caremesh_scheduling.api.deps import Services
from caremesh_scheduling.domain import CancelReason
from caremesh_scheduling.domain.series import Occurrence, Recurrence, Scope, Series

router = APIRouter(tags=["series"])


class SeriesRequest(AppointmentRequest):
    """The first occurrence (a slot, as for ``POST /appointments``) and how it repeats."""

    recurrence: Recurrence


class SeriesOut(Resource):
    patient_id: str
    practitioner_id: str
    location_id: str
    service_type_id: str
    service_code: str
    time_zone: str
    recurrence: Recurrence
    occurrences: list[Occurrence]
    created_at: datetime

    @classmethod
    def of(cls, s: Series) -> "SeriesOut":
        return cls.model_validate(s.model_dump())


class SeriesCancel(BaseModel):
    scope: Scope
    appointment_id: str | None = Field(default=None, description="the occurrence; not needed for scope all")
    reason_code: CancelReason
    note: str | None = Field(default=None, max_length=500)


class Cancelled(BaseModel):
    series: SeriesOut
    outcomes: dict[str, str] = Field(description="per appointment: its status, or why it was not cancelled")


@router.post("/series", status_code=201, response_model=SeriesOut)
async def create(body: SeriesRequest, uc: Services, access: CoordinatorAccess) -> SeriesOut:
    slot = body.slot()
    series = await uc.series.create(body.patient_id, slot, body.recurrence, access.who.subject)
    await access.wrote(Action.CREATE, "Series", series.id, series.patient_id)
    return SeriesOut.of(series)


@router.get("/series/{series_id}", response_model=SeriesOut)
async def get(series_id: str, uc: Services, access: PatientAccess) -> SeriesOut:
    series = await uc.series.get(series_id)
    await access.read("Series", series_id, series.patient_id)
    return SeriesOut.of(series)


@router.get("/series", response_model=list[SeriesOut])
async def of_patient(
    uc: Services,
    access: PatientAccess,
    patient_id: Annotated[str, Query(min_length=1)],
    limit: Annotated[int, limit_query(200)] = 50,
) -> list[SeriesOut]:
    """A patient's series, each with its occurrences' appointment ids."""
    await access.read("Series", "*", patient_id)
    return [SeriesOut.of(s) for s in await uc.series.of_patient(patient_id, limit)]


@router.post("/series/{series_id}/cancel", response_model=Cancelled)
async def cancel(series_id: str, body: SeriesCancel, uc: Services, access: PatientAccess) -> Cancelled:
    """Coordinators cancel any series; a patient only their own."""
    if body.scope is not Scope.ALL and body.appointment_id is None:
        raise Invalid("appointment_id is required unless the scope is all", field="appointment_id")
    series = await uc.series.get(series_id)
    await access.wrote(Action.UPDATE, "Series", series_id, series.patient_id)
    role = "patient" if access.who.roles == {Role.PATIENT} else "staff"
    outcomes = await uc.series.cancel(
        series_id, body.scope, body.appointment_id, body.reason_code, access.who.subject, role, body.note
    )
    return Cancelled(series=SeriesOut.of(series), outcomes=outcomes)
