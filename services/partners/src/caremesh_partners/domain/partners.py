"""A partner system (a payer, a referring clinic, a lab, a patient app, an analytics platform)
and what it is allowed to hear. Pure: no I/O, no clock."""

from datetime import datetime
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, Field, model_validator

from caremesh_contracts.audiences import PartnerKind
from caremesh_kit.aggregate import Aggregate

# HL7 v3 PurposeOfUse codes a partner may be registered for.
PURPOSES = ("TREAT", "HPAYMT", "HOPERAT", "HRESCH", "PATRQT", "PUBHLTH")


class PartnerStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class PartnerTerms(BaseModel):
    name: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")
    kind: PartnerKind
    purpose_of_use: str = Field(description="HL7 v3 PurposeOfUse: " + ", ".join(PURPOSES))
    payer_id: str | None = Field(
        default=None, min_length=1, max_length=80, pattern=r"^[^\x00]*$", description="a payer: its id in insurance"
    )
    organization: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00]*$",
        description="a referring clinic: the organization its referrals name",
    )

    @model_validator(mode="after")
    def _scoped(self) -> Self:
        if self.purpose_of_use not in PURPOSES:
            raise ValueError(f"purpose_of_use must be one of {', '.join(PURPOSES)}")
        if self.kind is PartnerKind.PAYER and not self.payer_id:
            raise ValueError("a payer partner needs payer_id: it hears only of its own members")
        if self.kind is PartnerKind.REFERRING_CLINIC and not self.organization:
            raise ValueError("a referring clinic needs organization: it hears only of its own referrals")
        return self


class Partner(Aggregate):
    terms: PartnerTerms
    status: PartnerStatus = PartnerStatus.ACTIVE
    created_at: datetime
    updated_at: datetime

    @classmethod
    def register(cls, partner_id: str, terms: PartnerTerms, now: datetime) -> "Partner":
        return cls(id=partner_id, terms=terms, created_at=now, updated_at=now)

    def set_status(self, status: PartnerStatus, now: datetime) -> bool:
        if self.status is status:
            return False
        self.status, self.updated_at = status, now
        return True
