"""The intake questionnaire, as a FHIR R4B Questionnaire, and reading a response to it into
health history entries. Pure Python: no I/O.

One repeating group per history kind; each answer item inside it fills one field of that
kind's ``New...`` body, so the questionnaire and the history cannot drift apart: the item
types are derived from the fields.
"""

import types
import typing
import uuid
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from fhir.resources.R4B.coding import Coding as FhirCoding
from fhir.resources.R4B.questionnaire import Questionnaire, QuestionnaireItem, QuestionnaireItemAnswerOption
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from pydantic import BaseModel, ValidationError

from caremesh_kit.errors import Invalid
from caremesh_records.domain.codes import CVX, ICD10CM, ROLE_CODE, RXNORM, SNOMED, Coding
from caremesh_records.domain.history import Imported, Kind, NewEntry
from caremesh_records.domain.history.kinds import (
    NewAllergy,
    NewCondition,
    NewFamilyHistory,
    NewImmunization,
    NewMedication,
    NewProcedure,
)

URL = "urn:caremesh:questionnaire:intake"
VERSION = "1"
CANONICAL = f"{URL}|{VERSION}"
ENUM_SYSTEM = "urn:caremesh:intake"  # the system of our own answer options (severities and the like)
# A value set per coded field: what a form builder offers to search in.
VALUE_SETS = {
    SNOMED: "http://snomed.info/sct?fhir_vs",
    RXNORM: "http://www.nlm.nih.gov/research/umls/rxnorm/vs",
    ICD10CM: "http://hl7.org/fhir/sid/icd-10-cm/vs",
    CVX: "http://hl7.org/fhir/ValueSet/vaccine-code",
    ROLE_CODE: "http://terminology.hl7.org/ValueSet/v3-FamilyMember",
}


@dataclass(frozen=True)
class Section:
    link_id: str
    kind: Kind
    text: str
    body: type[NewEntry]
    fields: dict[str, str]  # field of ``body`` -> its question
    value_set: str  # for the coded fields


SECTIONS = (
    Section(
        "allergies",
        Kind.ALLERGY,
        "Allergies and intolerances",
        NewAllergy,
        {"substance": "Substance", "reaction": "What happens (reaction)", "severity": "How severe"},
        VALUE_SETS[SNOMED],
    ),
    Section(
        "medications",
        Kind.MEDICATION,
        "Medications you take",
        NewMedication,
        {"medication": "Medication", "dose": "Dose", "frequency": "How often", "start_date": "Since when"},
        VALUE_SETS[RXNORM],
    ),
    Section(
        "conditions",
        Kind.CONDITION,
        "Health problems and conditions",
        NewCondition,
        {"condition": "Condition", "onset_date": "Since when"},
        VALUE_SETS[ICD10CM],
    ),
    Section(
        "procedures",
        Kind.PROCEDURE,
        "Operations and previous treatments",
        NewProcedure,
        {"procedure": "Procedure", "performed_date": "When"},
        VALUE_SETS[SNOMED],
    ),
    Section(
        "family-history",
        Kind.FAMILY_HISTORY,
        "Family health history",
        NewFamilyHistory,
        {"relationship": "Family member", "condition": "Condition", "onset_age": "Their age when it began"},
        VALUE_SETS[ICD10CM],
    ),
    Section(
        "immunizations",
        Kind.IMMUNIZATION,
        "Vaccinations",
        NewImmunization,
        {"vaccine": "Vaccine", "date_given": "When"},
        VALUE_SETS[CVX],
    ),
)
BY_LINK_ID = {s.link_id: s for s in SECTIONS}


def _plain(annotation: Any) -> Any:
    """``X | None`` -> ``X``; other annotations unchanged."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


def _question(section: Section, field: str, text: str) -> QuestionnaireItem:
    info = section.body.model_fields[field]
    kind = _plain(info.annotation)
    item: dict[str, Any] = {"linkId": f"{section.link_id}.{field}", "text": text, "required": info.is_required()}
    if kind is Coding:  # answered with a coding from the value set (a form searches it)
        item |= {
            "type": "choice",
            "answerValueSet": VALUE_SETS[ROLE_CODE] if field == "relationship" else section.value_set,
        }
    elif isinstance(kind, type) and issubclass(kind, StrEnum):
        item |= {
            "type": "choice",
            "answerOption": [
                QuestionnaireItemAnswerOption(
                    valueCoding=FhirCoding(system=ENUM_SYSTEM, code=v.value, display=v.value.capitalize())
                )
                for v in kind
            ],
        }
    elif kind is date:
        item["type"] = "date"
    elif kind is int:
        item["type"] = "integer"
    else:
        item["type"] = "string"
    return QuestionnaireItem(**item)


def questionnaire() -> Questionnaire:
    return Questionnaire(
        id="intake",
        url=URL,
        version=VERSION,
        name="CareMeshIntake",
        title="Health history intake",
        status="active",
        subjectType=["Patient"],
        item=[
            QuestionnaireItem(
                linkId=s.link_id,
                text=s.text,
                type="group",
                repeats=True,
                required=False,
                item=[_question(s, f, t) for f, t in s.fields.items()],
            )
            for s in SECTIONS
        ],
    )


# -- reading a response -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Answered:
    """One entry the response asks to record: its section, place, id and body."""

    section: Section
    index: int  # which repetition of the section's group
    entry_id: str
    body: NewEntry

    @property
    def path(self) -> str:
        return f"item[{self.section.link_id}][{self.index}]"


def parse_response(raw: dict[str, Any]) -> QuestionnaireResponse:
    try:
        response = QuestionnaireResponse.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "resourceType"
        raise Invalid(f"not a valid FHIR R4 QuestionnaireResponse: {first['msg']}", field=field) from None
    if response.questionnaire not in (URL, CANONICAL):
        raise Invalid(
            f"this is a response to {response.questionnaire!r}, not to the intake questionnaire {CANONICAL}",
            field="questionnaire",
        )
    if response.status not in ("completed", "amended"):
        raise Invalid(f"a {response.status} response is not recorded: submit it completed", field="status")
    if not response.id:
        raise Invalid("the response needs an id: resubmitting it must not record it twice", field="id")
    return response


def subject_patient(response: QuestionnaireResponse) -> str | None:
    ref = response.subject.reference if response.subject else None
    return ref.removeprefix("Patient/") if ref and ref.startswith("Patient/") else None


def _answer(section: Section, field: str, item: Any, path: str) -> Any:
    answers = item.answer or []
    if len(answers) != 1:
        raise Invalid(f"{path}: give one answer, not {len(answers)}", field=path)
    a = answers[0]
    kind = _plain(section.body.model_fields[field].annotation)
    if kind is Coding:
        if a.valueCoding is None:
            raise Invalid(f"{path}: answer with a coding (system, code and display)", field=path)
        c = a.valueCoding
        return {"system": c.system, "code": c.code, "display": c.display}
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        return a.valueCoding.code if a.valueCoding else a.valueString
    return a.valueDate or a.valueInteger if kind in (date, int) else a.valueString


def entries(response: QuestionnaireResponse, patient_id: str) -> list[Answered]:
    """The entries the response gives, each under an id derived from the patient, the response and
    its place;
    Invalid, naming the item, for the first answer that is not well formed."""
    out: list[Answered] = []
    counts: dict[str, int] = {}
    for group in response.item or []:
        section = BY_LINK_ID.get(group.linkId or "")
        if section is None:
            raise Invalid(f"item {group.linkId!r} is not in the intake questionnaire", field=f"item[{group.linkId}]")
        index = counts[section.link_id] = counts.get(section.link_id, -1) + 1
        path = f"item[{section.link_id}][{index}]"
        fields: dict[str, Any] = {}
        for item in group.item or []:
            field = (item.linkId or "").removeprefix(f"{section.link_id}.")
            if field not in section.fields:
                raise Invalid(f"{path}: {item.linkId!r} is not a question of this section", field=path)
            fields[field] = _answer(section, field, item, f"{path}.{field}")
        try:
            body = section.body.model_validate(
                fields | {"source": Imported(type="imported", reference=f"QuestionnaireResponse/{response.id}")}
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            field = f"{path}.{first['loc'][0]}" if first["loc"] else path
            raise Invalid(f"{field}: {first['msg']}", field=field) from None
        entry_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{URL}/{patient_id}/{response.id}/{path}"))
        out.append(Answered(section, index, entry_id, body))
    return out


class Outcome(BaseModel):
    item: str
    kind: Kind
    outcome: str  # recorded | already recorded
    entry_id: str
    reason: str | None = None
