"""Recording an intake response: every answer is checked before any is written, so a response
with a mistake records nothing and says where the mistake is."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from caremesh_kit.errors import Conflict, Invalid
from caremesh_records.history import KINDS
from caremesh_records.intake import Outcome, entries, parse_response, subject_patient
from caremesh_records.usecases import HealthHistory


@dataclass
class Intake:
    history: HealthHistory
    responses: Any  # the ``intake_responses`` collection: each response as received, once

    async def submit(self, patient_id: str, raw: dict[str, Any], by: str) -> tuple[list[Outcome], bool]:
        """Record the response's entries for ``patient_id``. Returns the outcome of each, and
        whether this response was new (False: submitted before, nothing new recorded)."""
        response = parse_response(raw)
        subject = subject_patient(response)
        if subject != patient_id:
            raise Invalid(f"the response's subject must be Patient/{patient_id}", field="subject")
        patient = await self.history.patients.get(patient_id)
        answered = entries(response, patient_id)
        now = datetime.now(UTC)
        for a in answered:  # the rules of each kind, before anything is written
            try:
                KINDS[a.section.kind].record(a.entry_id, patient, a.body, by, now)
            except Invalid as exc:
                inner = exc.extra.get("field")
                field = f"{a.path}.{inner}" if inner else a.path
                raise Invalid(f"{field}: {exc.detail}", field=field) from None
        outcomes = [await self._record(patient_id, a, by) for a in answered]
        try:
            await self.responses.insert_one(
                {
                    "_id": f"{patient_id}/{response.id}",
                    "patient_id": patient_id,
                    "received_at": now,
                    "by": by,
                    "resource": response.model_dump(mode="json"),
                    "outcomes": [o.model_dump() for o in outcomes],
                }
            )
        except DuplicateKeyError:
            return outcomes, False
        return outcomes, True

    async def _record(self, patient_id: str, a: Any, by: str) -> Outcome:
        kind = a.section.kind
        try:
            entry = await self.history.record(kind, patient_id, a.body, by, entry_id=a.entry_id)
        except Conflict as exc:
            existing = str(exc.extra.get("existing_id") or a.entry_id)
            return Outcome(item=a.path, kind=kind, outcome="already recorded", entry_id=existing, reason=exc.detail)
        return Outcome(item=a.path, kind=kind, outcome="recorded", entry_id=entry.id)

    async def responses_of(self, patient_id: str) -> list[dict[str, Any]]:
        cursor = self.responses.find({"patient_id": patient_id}).sort("received_at", 1)
        return [d["resource"] async for d in cursor]
