"""Payers and their plans: the benefits a plan holds. Pure Python: no I/O.

A plan lists the services it covers (CPT/HCPCS), what the patient pays for each (a copay, a
coinsurance or both, else the plan's default), the annual deductible, visit limits per year
(per service and for the plan as a whole) and which services need prior authorization.
"""

import re
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    HttpUrl,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from caremesh_kit.aggregate import Aggregate
from caremesh_kit.codes import SERVICE_CODE

# CPT (5 digits or 4 digits + letter) or HCPCS Level II (letter + 4 digits).


def _service_code(code: str) -> str:
    if not re.fullmatch(SERVICE_CODE, code):
        raise ValueError(f"not a CPT/HCPCS code: {code}")
    return code


ServiceCode = Annotated[str, AfterValidator(_service_code)]


def _exact(value: object) -> object:
    if isinstance(value, int | float):  # a float is not an exact amount; a string says what is meant
        raise ValueError('give the amount as a string, e.g. "25.00"')
    return value


# Amounts are decimals, taken, stored and served as strings ("25.00"): BSON has no plain decimal.
Money = Annotated[
    Decimal,
    BeforeValidator(_exact),
    Field(ge=0, max_digits=11, decimal_places=2),
    PlainSerializer(lambda d: f"{d:.2f}", return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,9}(\.[0-9]{1,2})?$", "examples": ["25.00"]}),
]
Url = Annotated[HttpUrl, PlainSerializer(str, return_type=str)]
Percent = Annotated[
    Decimal,
    BeforeValidator(_exact),
    Field(ge=0, le=100, max_digits=5, decimal_places=2),
    WithJsonSchema({"type": "string", "pattern": r"^(100(\.0{1,2})?|[0-9]{1,2}(\.[0-9]{1,2})?)$", "examples": ["20"]}),
    PlainSerializer(lambda d: f"{d.normalize():f}", return_type=str),
]


class CostShare(BaseModel):
    """What the patient pays for a visit: a fixed copay, a share of the allowed amount, or both."""

    copay: Money | None = None
    coinsurance_percent: Percent | None = None

    @model_validator(mode="after")
    def _some(self) -> "CostShare":
        if self.copay is None and self.coinsurance_percent is None:
            raise ValueError("a cost share needs a copay, a coinsurance_percent or both")
        return self


class ServiceBenefit(BaseModel):
    code: ServiceCode
    cost_share: CostShare | None = Field(None, description="else the plan's cost_share")
    visits_per_year: int | None = Field(None, ge=1, le=366)
    prior_authorization: bool = False


class PlanTerms(BaseModel):
    payer_id: str = Field(min_length=1)
    name: str = Field(min_length=1, max_length=200)
    plan_code: str | None = Field(None, max_length=50, description="the payer's own plan identifier")
    services: list[ServiceBenefit] = Field(min_length=1, max_length=2000)
    cost_share: CostShare | None = None
    deductible: Money = Decimal("0.00")
    visits_per_year: int | None = Field(None, ge=1, le=366, description="for all covered services together")

    @field_validator("services")
    @classmethod
    def _unique(cls, services: list[ServiceBenefit]) -> list[ServiceBenefit]:
        codes = [s.code for s in services]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ValueError(f"services list a code more than once: {', '.join(dupes)}")
        return services

    def benefit_for(self, code: str) -> ServiceBenefit | None:
        return next((s for s in self.services if s.code == code), None)

    def cost_share_for(self, code: str) -> CostShare | None:
        benefit = self.benefit_for(code)
        return (benefit.cost_share if benefit else None) or self.cost_share

    @property
    def service_codes(self) -> list[str]:
        return sorted(s.code for s in self.services)

    @property
    def prior_authorization_codes(self) -> list[str]:
        return sorted(s.code for s in self.services if s.prior_authorization)


class PlanStatus(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"  # no new coverages; existing ones keep it


class Plan(Aggregate):
    terms: PlanTerms
    status: PlanStatus = PlanStatus.ACTIVE
    # Set for a plan made for one coverage registered in the foundation's inline form.
    coverage_id: str | None = None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def create(cls, plan_id: str, terms: PlanTerms, now: datetime, coverage_id: str | None = None) -> "Plan":
        return cls(id=plan_id, terms=terms, coverage_id=coverage_id, created_at=now, updated_at=now)

    def revise(self, terms: PlanTerms, now: datetime) -> bool:
        if terms == self.terms:
            return False
        self.terms, self.updated_at = terms, now
        return True

    def retire(self, now: datetime) -> bool:
        if self.status is PlanStatus.RETIRED:
            return False
        self.status, self.updated_at = PlanStatus.RETIRED, now
        return True


class EligibilityAdapterName(StrEnum):
    RULES = "rules"  # decide from the plan data held here
    X12 = "x12"  # ask the payer with an X12 270 and read its 271


class SubmissionAdapterName(StrEnum):
    MANUAL = "manual"  # the coordinator submits by portal, fax or phone; nothing is generated
    X12_278 = "x12_278"  # an X12 278 request is generated (and sent when there is an endpoint)


class PayerTerms(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    payer_identifier: str | None = Field(
        None, pattern=r"^[A-Za-z0-9]{2,80}$", description="the payer's id in X12 (NM109 of loop 2100A)"
    )
    adapter: EligibilityAdapterName = EligibilityAdapterName.RULES
    # Checked even when left out (validate_default), so a problem names the field that is missing.
    x12_endpoint: Url | None = Field(
        None, validate_default=True, description="where 270s go (an HTTP POST of the interchange)"
    )
    x12_receiver_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9]{2,15}$", validate_default=True, description="ISA08; default: the payer id"
    )
    authorization_adapter: SubmissionAdapterName = SubmissionAdapterName.MANUAL
    x12_278_endpoint: Url | None = Field(
        None,
        validate_default=True,
        description="where 278 requests go (an HTTP POST); without it the 278 is "
        "generated for the coordinator to upload",
    )

    @field_validator("x12_endpoint")
    @classmethod
    def _x12(cls, v: HttpUrl | None, info: ValidationInfo) -> HttpUrl | None:
        if info.data.get("adapter") is EligibilityAdapterName.X12:
            missing = [
                f
                for f, value in (("payer_identifier", info.data.get("payer_identifier")), ("x12_endpoint", v))
                if value is None
            ]
            if missing:
                raise ValueError(f"the x12 adapter needs {' and '.join(missing)}")
        return v

    @field_validator("x12_receiver_id")
    @classmethod
    def _receiver(cls, v: str | None, info: ValidationInfo) -> str | None:
        if (
            v is None
            and info.data.get("adapter") is EligibilityAdapterName.X12
            and len(info.data.get("payer_identifier") or "") > 15
        ):
            raise ValueError("x12_receiver_id is needed when payer_identifier is longer than 15 characters")
        return v

    @field_validator("x12_278_endpoint")
    @classmethod
    def _x12_278(cls, v: HttpUrl | None, info: ValidationInfo) -> HttpUrl | None:
        if info.data.get("authorization_adapter") is SubmissionAdapterName.X12_278:
            identifier = info.data.get("payer_identifier")
            if identifier is None:
                raise ValueError("the x12_278 adapter needs payer_identifier")
            if len(identifier) > 15 and info.data.get("x12_receiver_id") is None:
                raise ValueError("x12_receiver_id is needed when payer_identifier is longer than 15 characters")
        elif v is not None:
            raise ValueError("x12_278_endpoint is only for the x12_278 authorization adapter")
        return v


class Payer(Aggregate):
    terms: PayerTerms
    created_at: datetime
    updated_at: datetime

    @classmethod
    def create(cls, payer_id: str, terms: PayerTerms, now: datetime) -> "Payer":
        return cls(id=payer_id, terms=terms, created_at=now, updated_at=now)

    def revise(self, terms: PayerTerms, now: datetime) -> bool:
        if terms == self.terms:
            return False
        self.terms, self.updated_at = terms, now
        return True
