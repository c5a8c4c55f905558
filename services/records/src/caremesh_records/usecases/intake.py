"""Recording an intake response: every answer is checked before any is written, so a response
with a mistake records nothing and says where the mistake is."""

from typing import Any

from caremesh_kit.clock import Clock
from caremesh_kit.errors import Conflict, Invalid
from caremesh_kit.store import Repository
from caremesh_records.domain import Patient
from caremesh_records.domain.history import KINDS
from caremesh_records.domain.intake import Answered, Outcome, entries, parse_response, subject_patient
from caremesh_records.store import IntakeResponses
from caremesh_records.usecases.history import HealthHistory


class Intake:
    def __init__(
        self, patients: Repository[Patient], history: HealthHistory, responses: IntakeResponses, clock: Clock
    ) -> None:
        self.patients, self.history, self.responses, self.clock = patients, history, responses, clock

    async def submit(self, patient_id: str, raw: dict[str, Any], by: str) -> tuple[list[Outcome], bool]:
        """Record the response's entries for ``patient_id``. Returns the outcome of each, and
        whether this response was new (False: submitted before, nothing new recorded)."""
        response = parse_response(raw)
        subject = subject_patient(response)
        if subject != patient_id:
            raise Invalid(f"the response's subject must be Patient/{patient_id}", field="subject")
        patient = await self.patients.get(patient_id)
        answered = entries(response, patient_id)
        now = self.clock()
        for a in answered:  # the rules of each kind, before anything is written
            try:
                KINDS[a.section.kind].record(a.entry_id, patient, a.body, by, now)
            except Invalid as exc:
                inner = exc.extra.get("field")
                field = f"{a.path}.{inner}" if inner else a.path
                raise Invalid(f"{field}: {exc.detail}", field=field) from None
        outcomes = [await self._record(patient_id, a, by) for a in answered]
        new = await self.responses.add(
            {
                "_id": f"{patient_id}/{response.id}",
                "patient_id": patient_id,
                "received_at": now,
                "by": by,
                "resource": response.model_dump(mode="json"),
                "outcomes": [o.model_dump() for o in outcomes],
            }
        )
        return outcomes, new

    async def _record(self, patient_id: str, a: Answered, by: str) -> Outcome:
        kind = a.section.kind
        try:
            entry = await self.history.record(kind, patient_id, a.body, by, entry_id=a.entry_id)
        except Conflict as exc:
            existing = str(exc.extra.get("existing_id") or a.entry_id)
            return Outcome(item=a.path, kind=kind, outcome="already recorded", entry_id=existing, reason=exc.detail)
        return Outcome(item=a.path, kind=kind, outcome="recorded", entry_id=entry.id)

    async def responses_of(self, patient_id: str) -> list[dict[str, Any]]:
        return await self.responses.resources_of(patient_id)
