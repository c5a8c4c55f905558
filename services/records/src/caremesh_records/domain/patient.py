"""Patients: registration, duplicates and merges. Pure Python: no I/O, no clock."""

import unicodedata
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, EmailStr, Field, ValidationInfo, field_validator, model_validator

from caremesh_contracts import (
    PatientMerged,
    PatientRegistered,
)
from caremesh_kit.aggregate import Aggregate
from caremesh_kit.errors import Conflict, Invalid
from caremesh_kit.types import CalendarDate, TimeZoneName

MRN_SYSTEM = "urn:caremesh:mrn"


class Identifier(BaseModel):
    """An identifier given by another organisation, e.g. a payer's member id or another MRN."""

    system: str = Field(min_length=1, max_length=200, description="URI of the assigning authority")
    value: str = Field(min_length=1, max_length=100)

    @property
    def key(self) -> str:
        return f"{self.system}|{self.value}"


class Demographics(BaseModel):
    given_name: str = Field(min_length=1, max_length=200, description="every given name, space-separated")
    given_names: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list,
        max_length=10,
        description="each given name on its own (FHIR name.given), joined they are given_name; "
        "defaults to [given_name]",
    )
    family_name: str = Field(min_length=1, max_length=200)
    birth_date: CalendarDate
    email: EmailStr | None = None
    phone: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$", description="E.164")
    time_zone: TimeZoneName = "UTC"
    language: str | None = Field(
        default=None, pattern=r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$", description="BCP 47, e.g. en or es-MX"
    )
    identifiers: list[Identifier] = Field(default_factory=list, max_length=20)

    @field_validator("given_names")
    @classmethod
    def _agree_with_given_name(cls, names: list[str], info: ValidationInfo) -> list[str]:
        given = info.data.get("given_name")
        if names and given is not None and " ".join(names) != given:
            raise ValueError("joined with spaces, given_names must be given_name")
        return names

    @model_validator(mode="after")
    def _one_given_name_by_default(self) -> "Demographics":
        # Records stored before given_names existed, and clients that send only given_name.
        if not self.given_names:
            self.given_names = [self.given_name]
        return self


class Deceased(BaseModel):
    """The patient has died. ``at`` is when, if the source said (FHIR deceasedDateTime)."""

    at: AwareDatetime | None = None


def match_key(d: Demographics) -> str:
    """Name and birth date folded for comparison: case, accents and spacing do not matter."""

    def fold(text: str) -> str:
        plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
        return " ".join(plain.casefold().split())

    return f"{fold(d.family_name)}|{fold(d.given_name)}|{d.birth_date.isoformat()}"


def mrn_with_check_digit(digits: str) -> str:
    """A medical record number: the digits and a Luhn check digit, so typos are caught."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return digits + str((10 - total % 10) % 10)


class PatientStatus(StrEnum):
    ACTIVE = "active"
    MERGED = "merged"


class DuplicateCandidate(BaseModel):
    patient_id: str
    mrn: str = ""  # empty only for records made before MRNs were assigned
    reason: str


class Patient(Aggregate):
    demographics: Demographics
    registered_at: datetime
    mrn: str = ""  # empty only for records made before MRNs were assigned
    status: PatientStatus = PatientStatus.ACTIVE
    merged_into: str | None = None
    deceased: Deceased | None = None  # None: not known to have died
    # Kept for lookups (indexed): the folded name and birth date, and every identifier.
    match_key: str = ""
    identifier_keys: list[str] = Field(default_factory=list)

    def candidates_among(self, others: list["Patient"]) -> list[DuplicateCandidate]:
        """Other active patients with the same name and birth date, or sharing an identifier."""
        out = []
        for other in others:
            if other.id == self.id or other.status is not PatientStatus.ACTIVE:
                continue
            shared = sorted(set(self.identifier_keys) & set(other.identifier_keys))
            if shared:
                out.append(
                    DuplicateCandidate(patient_id=other.id, mrn=other.mrn, reason=f"same identifier {shared[0]}")
                )
            elif other.match_key == self.match_key:
                out.append(DuplicateCandidate(patient_id=other.id, mrn=other.mrn, reason="same name and birth date"))
        return out

    def merge_into(self, target: "Patient", now: datetime) -> bool:
        """This record was a duplicate of ``target``. False when already merged into it."""
        if target.id == self.id:
            raise Invalid("a patient cannot be merged into itself", field="into")
        if self.status is PatientStatus.MERGED:
            if self.merged_into == target.id:
                return False
            raise Conflict(f"already merged into {self.merged_into}", current=self.status.value)
        if target.status is not PatientStatus.ACTIVE:
            raise Conflict(f"patient {target.id} was itself merged into {target.merged_into}", field="into")
        self.status, self.merged_into = PatientStatus.MERGED, target.id
        self.raise_event(PatientMerged(patient_id=self.id, merged_into=target.id))
        return True

    @classmethod
    def register(
        cls,
        patient_id: str,
        demographics: Demographics,
        now: datetime,
        mrn: str = "",
        deceased: Deceased | None = None,
    ) -> "Patient":
        # A birth date is a local date: compare with today where the patient lives.
        if demographics.birth_date > local_date(now, demographics.time_zone):
            raise Invalid("birth_date is in the future", field="birth_date")
        if deceased is not None and deceased.at is not None:
            if deceased.at > now:
                raise Invalid("deceased.at is in the future", field="deceased.at")
            # As the source wrote it: its offset, not the patient's zone, says which day it was.
            if deceased.at.date() < demographics.birth_date:
                raise Invalid("deceased.at is before birth_date", field="deceased.at")
        if not (demographics.email or demographics.phone):
            raise Invalid("a patient needs an email or a phone number to be kept informed", field="email")
        patient = cls(
            id=patient_id,
            demographics=demographics,
            registered_at=now,
            mrn=mrn,
            deceased=deceased,
            match_key=match_key(demographics),
            identifier_keys=sorted({i.key for i in demographics.identifiers} | {f"{MRN_SYSTEM}|{mrn}"}),
        )
        d = demographics
        patient.raise_event(
            PatientRegistered(
                patient_id=patient_id,
                given_name=d.given_name,
                email=d.email,
                phone=d.phone,
                time_zone=d.time_zone,
            )
        )
        return patient

    def today(self, now: datetime) -> date:
        """The calendar date at ``now`` where the patient lives: what their clinical dates compare with."""
        return local_date(now, self.demographics.time_zone)


def local_date(now: datetime, time_zone: str) -> date:
    return now.astimezone(ZoneInfo(time_zone)).date()
