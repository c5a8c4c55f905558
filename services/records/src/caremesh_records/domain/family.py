"""Family members and caregivers, and the patient's consent for each. Pure Python: no I/O.

Consent is data: which categories of updates a person may receive, when it was given and by
whom. Every change is kept, and each raises an event that notifications acts on.
"""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, EmailStr, Field

from caremesh_contracts import ConsentChanged, RelatedPersonAdded
from caremesh_kit.aggregate import Aggregate
from caremesh_kit.types import TimeZoneName


class Relationship(StrEnum):
    """HL7 v3 RoleCode values for family members and carers."""

    MOTHER = "MTH"
    FATHER = "FTH"
    PARENT = "PRN"
    DAUGHTER = "DAU"
    SON = "SON"
    CHILD = "CHILD"
    SPOUSE = "SPS"
    DOMESTIC_PARTNER = "DOMPART"
    SIBLING = "SIB"
    GRANDPARENT = "GRPRN"
    GRANDCHILD = "GRNDCHILD"
    GUARDIAN = "GUARD"
    FRIEND = "FRND"
    NEIGHBOUR = "NBOR"
    CAREGIVER = "CAREGIVER"


class Category(StrEnum):
    """Kinds of updates a related person may receive."""

    APPOINTMENTS = "appointments"
    CARE_PLAN = "care_plan"
    INSURANCE = "insurance"


class RelatedPersonDetails(BaseModel):
    given_name: str = Field(min_length=1, max_length=200)
    family_name: str | None = Field(default=None, max_length=200)
    relationship: Relationship
    email: EmailStr | None = None
    phone: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$", description="E.164")
    time_zone: TimeZoneName = "UTC"


class ConsentRecord(BaseModel):
    categories: list[Category]
    given_at: datetime
    given_by: str  # the subject of whoever recorded it: the patient, or staff on their behalf
    given_by_role: str


class RelatedPerson(Aggregate):
    patient_id: str
    details: RelatedPersonDetails
    consents: list[ConsentRecord] = Field(default_factory=list)  # oldest first; the last is in force

    @classmethod
    def add(cls, person_id: str, patient_id: str, details: RelatedPersonDetails) -> "RelatedPerson":
        """Added with no consent: nobody is told anything until the patient says so."""
        person = cls(id=person_id, patient_id=patient_id, details=details)
        person.raise_event(
            RelatedPersonAdded(
                related_person_id=person_id,
                patient_id=patient_id,
                given_name=details.given_name,
                relationship=details.relationship.value,
                email=details.email,
                phone=details.phone,
                time_zone=details.time_zone,
            )
        )
        return person

    @property
    def consented(self) -> frozenset[Category]:
        return frozenset(self.consents[-1].categories) if self.consents else frozenset()

    def may_receive(self, category: Category) -> bool:
        return category in self.consented

    def set_consent(self, categories: set[Category], by: str, by_role: str, now: datetime) -> bool:
        """Replace the consent in force; False (and nothing recorded) when it is unchanged."""
        if frozenset(categories) == self.consented and self.consents:
            return False
        ordered = sorted(categories)
        self.consents = [
            *self.consents,
            ConsentRecord(categories=ordered, given_at=now, given_by=by, given_by_role=by_role),
        ]
        self.raise_event(
            ConsentChanged(
                related_person_id=self.id,
                patient_id=self.patient_id,
                categories=[c.value for c in ordered],
                changed_at=now,
            )
        )
        return True
