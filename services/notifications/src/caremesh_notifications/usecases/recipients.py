"""Records' events: notifications' own copy of contacts, family members and their consent."""

from dataclasses import dataclass

from caremesh_contracts import ConsentChanged, PatientMerged, PatientRegistered, RelatedPersonAdded
from caremesh_kit.envelope import Envelope
from caremesh_kit.errors import NotFound, RetryLater
from caremesh_kit.store import Repository
from caremesh_notifications.domain import Contact, FamilyMember, Recipient


@dataclass
class Recipients:
    contacts: Repository[Contact]
    family: Repository[FamilyMember]

    async def on_patient_registered(self, event: PatientRegistered, env: Envelope) -> None:
        await self.contacts.add_once(Contact.from_registration(event))

    async def on_patient_merged(self, event: PatientMerged, env: Envelope) -> None:
        if await self.contacts.find(event.patient_id) is None:
            raise RetryLater("the merged patient's registration has not been seen yet")
        await self.contacts.mutate(event.patient_id, lambda c: c.merge_into(event.merged_into))

    async def on_related_person_added(self, event: RelatedPersonAdded, env: Envelope) -> None:
        await self.family.add_once(FamilyMember.from_event(event))

    async def on_consent_changed(self, event: ConsentChanged, env: Envelope) -> None:
        if await self.family.find(event.related_person_id) is None:
            raise RetryLater("the related person has not been seen yet")
        await self.family.mutate(event.related_person_id, lambda m: m.apply_consent(event))

    async def recipient(self, patient_id: str, person_id: str | None = None) -> Recipient:
        """The patient, or one of their family members; 404 for anyone else."""
        if person_id is None:
            if (contact := await self.contacts.find(patient_id)) is None:
                raise NotFound("no contact details for this patient yet")
            return contact
        member = await self.family.find(person_id)
        if member is None or member.patient_id != patient_id:
            raise NotFound("no such family member or caregiver for this patient")
        return member
