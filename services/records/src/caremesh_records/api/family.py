"""Family members, caregivers and consent. Patients manage their own; staff may act for them."""

from fastapi import APIRouter
from pydantic import BaseModel

from caremesh_kit.audit import Action, PatientAccess
from caremesh_kit.auth import Role
from caremesh_kit.http import Resource
from caremesh_records.api.deps import Services
from caremesh_records.domain.family import Category, ConsentRecord, RelatedPerson, RelatedPersonDetails

router = APIRouter(tags=["family"])


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
    patient_id: str, body: RelatedPersonDetails, uc: Services, access: PatientAccess
) -> RelatedPersonOut:
    await access.wrote(Action.CREATE, "RelatedPerson", "*", patient_id)
    person = await uc.family.add(patient_id, body)
    return RelatedPersonOut.of(person)


@router.get("/patients/{patient_id}/related-persons", response_model=list[RelatedPersonOut])
async def list_related_persons(patient_id: str, uc: Services, access: PatientAccess) -> list[RelatedPersonOut]:
    await access.read("RelatedPerson", "*", patient_id)
    return [RelatedPersonOut.of(p) for p in await uc.family.of_patient(patient_id)]


@router.put("/patients/{patient_id}/related-persons/{person_id}/consent", response_model=RelatedPersonOut)
async def set_consent(
    patient_id: str, person_id: str, body: ConsentIn, uc: Services, access: PatientAccess
) -> RelatedPersonOut:
    """Replace what this person may receive; an empty list withdraws consent at once."""
    await access.wrote(Action.UPDATE, "Consent", person_id, patient_id)
    role = "patient" if access.who.roles == {Role.PATIENT} else "staff"
    person = await uc.family.set_consent(patient_id, person_id, body.categories, access.who.subject, role)
    return RelatedPersonOut.of(person)
