"""Preferences of the patient and of each family member or caregiver: read by the care team and the
patient, changed by the patient themself or a coordinator. Every read and change is audited."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends

from caremesh_kit.audit import Access, Action, PatientAccess, access_for
from caremesh_kit.auth import Role
from caremesh_kit.http import Resource
from caremesh_notifications.api.deps import Services
from caremesh_notifications.domain import Channel, Preferences, PreferencesIn, Recipient, is_patient, routes
from caremesh_notifications.usecases import UseCases

router = APIRouter(tags=["preferences"])
# The patient (own only) or a coordinator may change preferences.
ChangeAccess = Annotated[Access, Depends(access_for(Role.COORDINATOR, Role.PATIENT))]
RESOURCE = "CommunicationPreferences"


class PreferencesOut(Resource, PreferencesIn):
    patient_id: str
    recipient: str  # "patient" or "related_person"
    updated_by: str | None
    updated_at: datetime | None
    usable_channels: list[Channel]  # the channels above that can reach them now, in order
    next_allowed_at: datetime  # now, or when their quiet hours end

    @classmethod
    def of(cls, p: Preferences, r: Recipient, available: frozenset[Channel], now: datetime) -> "PreferencesOut":
        return cls(
            **p.model_dump(),
            recipient="patient" if is_patient(r) else "related_person",
            usable_channels=[route.channel for route in routes(r, p, set(available))],
            next_allowed_at=p.next_allowed(now, r.time_zone),
        )


class PreferencesPut(PreferencesIn):
    version: int | None = None  # when given, the change applies only to this version (else 409)


async def _read(uc: UseCases, access: Access, patient_id: str, person_id: str | None) -> PreferencesOut:
    await access.read(RESOURCE, person_id or patient_id, patient_id)
    r = await uc.preferences.recipient(patient_id, person_id)
    prefs = await uc.preferences.of(patient_id, person_id)
    return PreferencesOut.of(prefs, r, uc.preferences.available, uc.clock())


async def _write(
    uc: UseCases, access: Access, patient_id: str, person_id: str | None, body: PreferencesPut
) -> PreferencesOut:
    await access.wrote(Action.UPDATE, RESOURCE, person_id or patient_id, patient_id)
    r = await uc.preferences.recipient(patient_id, person_id)
    prefs = await uc.preferences.replace(
        patient_id,
        person_id,
        PreferencesIn.model_validate(body.model_dump(exclude={"version"})),
        access.who.subject,
        body.version,
    )
    return PreferencesOut.of(prefs, r, uc.preferences.available, uc.clock())


@router.get("/patients/{patient_id}/preferences", response_model=PreferencesOut)
async def get_patient_preferences(patient_id: str, uc: Services, access: PatientAccess) -> PreferencesOut:
    """The patient's preferences (defaults until set)."""
    return await _read(uc, access, patient_id, None)


@router.put("/patients/{patient_id}/preferences", response_model=PreferencesOut)
async def put_patient_preferences(
    patient_id: str, body: PreferencesPut, uc: Services, access: ChangeAccess
) -> PreferencesOut:
    return await _write(uc, access, patient_id, None, body)


@router.get("/patients/{patient_id}/related-persons/{person_id}/preferences", response_model=PreferencesOut)
async def get_family_preferences(
    patient_id: str, person_id: str, uc: Services, access: PatientAccess
) -> PreferencesOut:
    """A family member's or caregiver's preferences; what they may receive at all is their consent, in records."""
    return await _read(uc, access, patient_id, person_id)


@router.put("/patients/{patient_id}/related-persons/{person_id}/preferences", response_model=PreferencesOut)
async def put_family_preferences(
    patient_id: str, person_id: str, body: PreferencesPut, uc: Services, access: ChangeAccess
) -> PreferencesOut:
    return await _write(uc, access, patient_id, person_id, body)
