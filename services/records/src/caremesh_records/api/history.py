"""HTTP API of the health history: the same four routes for each kind of entry."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from caremesh_kit.audit import Action, CareTeamAccess, PatientAccess
from caremesh_kit.openapi import Limit, Offset
from caremesh_records.api.deps import Services
from caremesh_records.domain.history import (
    Allergy,
    AllergyStatusUpdate,
    Condition,
    ConditionStatusUpdate,
    FamilyHistory,
    FamilyHistoryStatusUpdate,
    HistoryEntry,
    Immunization,
    ImmunizationStatusUpdate,
    Medication,
    MedicationStatusUpdate,
    NewAllergy,
    NewCondition,
    NewEntry,
    NewFamilyHistory,
    NewImmunization,
    NewMedication,
    NewProcedure,
    Procedure,
    ProcedureStatusUpdate,
    StatusUpdate,
)

router = APIRouter(tags=["health history"])


def _routes(path: str, entry: type[HistoryEntry], new: type[NewEntry], update: type[StatusUpdate[Any]]) -> None:
    kind, resource = entry.KIND, entry.RESOURCE
    status_type = entry.model_fields["status"].annotation
    collection = f"/patients/{{patient_id}}/{path}"
    one = f"{collection}/{{entry_id}}"
    name = kind.value.replace("-", "_")

    # Annotations are evaluated here, per kind, so each route gets its own body and status types.
    @router.post(
        collection, status_code=201, response_model=entry, name=f"record_{name}", summary=f"Record a {entry.NOUN}"
    )
    async def record(
        patient_id: str,
        body: new,  # type: ignore[valid-type]  # a type chosen per kind at run time
        uc: Services,
        access: CareTeamAccess,
    ) -> HistoryEntry:
        created = await uc.history.record(kind, patient_id, body, access.who.subject)
        await access.wrote(Action.CREATE, resource, created.id, patient_id)
        return created

    @router.get(
        collection,
        response_model=list[entry],  # type: ignore[valid-type]  # a type chosen per kind at run time
        name=f"list_{name}",
        summary=f"A patient's {path.replace('-', ' ')}, newest recorded first",
    )
    async def entries(
        patient_id: str,
        uc: Services,
        access: PatientAccess,
        status: Annotated[status_type | None, Query()] = None,  # type: ignore[valid-type]  # a type chosen per kind at run time
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> list[HistoryEntry]:
        await access.read(resource, "*", patient_id)
        return await uc.history.entries_of(kind, patient_id, status, limit, offset)

    @router.get(one, response_model=entry, name=f"get_{name}", summary=f"One {entry.NOUN}")
    async def get(patient_id: str, entry_id: str, uc: Services, access: PatientAccess) -> HistoryEntry:
        await access.read(resource, entry_id, patient_id)
        return await uc.history.get(kind, patient_id, entry_id)

    @router.post(
        f"{one}/status", response_model=entry, name=f"change_{name}_status", summary=f"Change a {entry.NOUN}'s status"
    )
    async def change_status(
        patient_id: str,
        entry_id: str,
        body: update,  # type: ignore[valid-type]  # a type chosen per kind at run time
        uc: Services,
        access: CareTeamAccess,
    ) -> HistoryEntry:
        changed = await uc.history.change_status(kind, patient_id, entry_id, body, access.who.subject)
        await access.wrote(Action.UPDATE, resource, entry_id, patient_id)
        return changed


_routes("allergies", Allergy, NewAllergy, AllergyStatusUpdate)
_routes("medications", Medication, NewMedication, MedicationStatusUpdate)
_routes("conditions", Condition, NewCondition, ConditionStatusUpdate)
_routes("procedures", Procedure, NewProcedure, ProcedureStatusUpdate)
_routes("family-history", FamilyHistory, NewFamilyHistory, FamilyHistoryStatusUpdate)
_routes("immunizations", Immunization, NewImmunization, ImmunizationStatusUpdate)
