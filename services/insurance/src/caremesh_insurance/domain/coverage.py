"""A patient's coverages: which plan, whose policy, which order, for which period. Pure Python.

Every change raises ``insurance.coverage.changed`` with the coverage as it now stands (the
covered service codes come from the plan), so consumers keep a current copy from events alone.
"""

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field, model_validator

from caremesh_contracts import CoverageChanged, CoverageRegistered
from caremesh_insurance.domain.plans import Plan
from caremesh_kit.aggregate import Aggregate
from caremesh_kit.errors import Conflict, Invalid


class Relationship(StrEnum):
    """The patient's relationship to the subscriber (FHIR subscriber-relationship codes)."""

    SELF = "self"
    SPOUSE = "spouse"
    CHILD = "child"
    OTHER = "other"


class CoverageOrder(StrEnum):
    PRIMARY = "primary"
    SECONDARY = "secondary"
    TERTIARY = "tertiary"

    @property
    def rank(self) -> int:
        return list(CoverageOrder).index(self) + 1


class Person(BaseModel):
    """A person as the payer knows them; X12 inquiries need the name and birth date."""

    given_name: str = Field(min_length=1, max_length=35)
    family_name: str = Field(min_length=1, max_length=60)
    birth_date: date | None = None


class CoverageTerms(BaseModel):
    patient_id: str = Field(min_length=1)
    plan_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1, max_length=80)
    group_id: str | None = Field(None, min_length=1, max_length=50)
    order: CoverageOrder = CoverageOrder.PRIMARY
    period_start: date
    period_end: date | None = None
    relationship: Relationship = Relationship.SELF
    subscriber: Person | None = Field(None, description="the policy holder (the patient when relationship is self)")
    dependent: Person | None = Field(None, description="the patient, when not the subscriber")

    @model_validator(mode="after")
    def _consistent(self) -> "CoverageTerms":
        if self.period_end and self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        if self.dependent and self.relationship is Relationship.SELF:
            raise ValueError("dependent is only for a patient who is not the subscriber (relationship self)")
        return self

    def active_on(self, day: date) -> bool:
        return self.period_start <= day and (self.period_end is None or day <= self.period_end)


class CoverageStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"  # entered in error or withdrawn; never counts


class Coverage(Aggregate):
    terms: CoverageTerms
    status: CoverageStatus = CoverageStatus.ACTIVE
    payer: str = Field(description="the payer's name when the plan was last set")
    plan_version: int = Field(description="the plan version the last coverage.changed announced")
    registered_at: datetime
    updated_at: datetime

    @classmethod
    def register(cls, coverage_id: str, terms: CoverageTerms, plan: Plan, payer: str, now: datetime) -> "Coverage":
        coverage = cls(
            id=coverage_id, terms=terms, payer=payer, plan_version=plan.version, registered_at=now, updated_at=now
        )
        coverage.raise_event(
            CoverageRegistered(
                coverage_id=coverage_id,
                patient_id=terms.patient_id,
                payer=payer,
                period_start=terms.period_start,
                period_end=terms.period_end,
            )
        )
        coverage._changed(plan)
        return coverage

    def active_on(self, day: date) -> bool:
        return self.status is CoverageStatus.ACTIVE and self.terms.active_on(day)

    def amend(self, terms: CoverageTerms, plan: Plan, payer: str, now: datetime) -> bool:
        """Replace the terms (not the patient); False when nothing changes."""
        self._not_cancelled()
        if terms.patient_id != self.terms.patient_id:
            raise Invalid("a coverage cannot move to another patient", field="patient_id")
        if plan.id != terms.plan_id:
            raise ValueError("the plan given is not the one the terms name")
        if terms == self.terms and plan.version == self.plan_version:
            return False
        self.terms, self.payer, self.plan_version, self.updated_at = terms, payer, plan.version, now
        self._changed(plan)
        return True

    def end(self, on: date, plan: Plan, now: datetime) -> bool:
        """The coverage ends on ``on`` (inclusive); only ever earlier than its current end."""
        self._not_cancelled()
        if on < self.terms.period_start:
            raise Invalid("period_end is before period_start", field="period_end")
        if self.terms.period_end is not None and self.terms.period_end <= on:
            return False
        return self.amend(self.terms.model_copy(update={"period_end": on}), plan, self.payer, now)

    def cancel(self, plan: Plan, now: datetime) -> bool:
        if self.status is CoverageStatus.CANCELLED:
            return False
        self.status, self.updated_at = CoverageStatus.CANCELLED, now
        self._changed(plan)
        return True

    def refresh_plan(self, plan: Plan, now: datetime) -> bool:
        """Announce a revised plan's benefits; False when this plan version was announced."""
        if plan.id != self.terms.plan_id or plan.version <= self.plan_version:
            return False
        self.plan_version, self.updated_at = plan.version, now
        self._changed(plan)
        return True

    def _not_cancelled(self) -> None:
        if self.status is CoverageStatus.CANCELLED:
            raise Conflict("the coverage is cancelled", current=self.status.value)

    def _changed(self, plan: Plan) -> None:
        self.raise_event(
            CoverageChanged(
                coverage_id=self.id,
                patient_id=self.terms.patient_id,
                coverage_version=self.version + 1,
                plan_id=plan.id,
                payer_id=plan.terms.payer_id,
                status=self.status.value,
                period_start=self.terms.period_start,
                period_end=self.terms.period_end,
                service_codes=plan.terms.service_codes,
                prior_authorization_codes=plan.terms.prior_authorization_codes,
            )
        )
