"""Family members, caregivers and consent. Patients manage their own; staff may act for them."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from caremesh_kit import context
from caremesh_kit.audit import Action, PatientAccess
from caremesh_kit.auth import Role
from caremesh_kit.http import Resource, use_cases
from caremesh_records.family import Category, ConsentRecord, RelatedPerson, RelatedPersonDetails
from caremesh_records.usecases import Records

router = APIRouter(tags=["family"])
Uc = Annotated[Records, Depends(use_cases)]


class RelatedPersonOut(Resource, RelatedPersonDetails):
    patient_id: str
    consent: list[Category]
    consent_history: list[ConsentRecord]

    @classmethod
    def of(cls, p: RelatedPerson) -> "RelatedPersonOut":
        return cls(
            id=p.id,
            version=p.version,
            patient_id=p.patient_id,
            consent=sorted(p.consented),
            consent_history=p.consents,
            **p.details.model_dump(),
        )


class ConsentIn(BaseModel):
    categories: set[Category]


@router.post("/patients/{patient_id}/related-persons", status_code=201, response_model=RelatedPersonOut)
async def add_related_person(
    patient_id: str, body: RelatedPersonDetails, uc: Uc, access: PatientAccess
) -> RelatedPersonOut:
    await access.wrote(Action.CREATE, "RelatedPerson", "*", patient_id)
    await uc.get_patient(patient_id)
    person = await uc.family.add(RelatedPerson.add(context.new_id(), patient_id, body))
    return RelatedPersonOut.of(person)


@router.get("/patients/{patient_id}/related-persons", response_model=list[RelatedPersonOut])
async def list_related_persons(patient_id: str, uc: Uc, access: PatientAccess) -> list[RelatedPersonOut]:
    await access.read("RelatedPerson", "*", patient_id)
    return [RelatedPersonOut.of(p) for p in await uc.family_of(patient_id)]


@router.put("/patients/{patient_id}/related-persons/{person_id}/consent", response_model=RelatedPersonOut)
async def set_consent(
    patient_id: str, person_id: str, body: ConsentIn, uc: Uc, access: PatientAccess
) -> RelatedPersonOut:
    """Replace what this person may receive; an empty list withdraws consent at once."""
    await access.wrote(Action.UPDATE, "Consent", person_id, patient_id)
    role = "patient" if access.who.roles == {Role.PATIENT} else "staff"
    person = await uc.set_consent(patient_id, person_id, body.categories, access.who.subject, role, datetime.now(UTC))
    return RelatedPersonOut.of(person)
