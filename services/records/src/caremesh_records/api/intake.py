"""HTTP API of the intake questionnaire: the Questionnaire, and submitting a response to it.

Registered before the generic FHIR routes, so these paths are matched first.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from caremesh_kit.audit import Action, PatientAccess
from caremesh_kit.errors import Invalid
from caremesh_records.api.deps import Services
from caremesh_records.api.fhir import FhirResponse
from caremesh_records.domain.history import KINDS
from caremesh_records.domain.intake import Outcome, questionnaire

router = APIRouter(prefix="/fhir", tags=["intake"])


FHIR_JSON = "application/fhir+json"


@router.get(
    "/Questionnaire/intake", response_class=FhirResponse, summary="The intake questionnaire (FHIR R4 Questionnaire)"
)
async def intake_questionnaire(_: PatientAccess) -> Response:
    return Response(questionnaire().model_dump_json(), media_type=FHIR_JSON)


@router.post(
    "/QuestionnaireResponse",
    status_code=201,
    response_model=list[Outcome],
    summary="Submit a completed intake response: its answers land in the patient's health history",
)
async def submit_intake(
    uc: Services,
    access: PatientAccess,
    response: Response,
    body: Annotated[dict[str, Any], Body(description="a FHIR QuestionnaireResponse")],
) -> list[Outcome]:
    subject = body.get("subject")
    reference = subject.get("reference") if isinstance(subject, dict) else None
    if not isinstance(reference, str) or not reference.startswith("Patient/"):
        raise Invalid("the response's subject must be a reference Patient/{id}", field="subject")
    patient_id = reference.removeprefix("Patient/")
    await access.wrote(Action.CREATE, "QuestionnaireResponse", str(body.get("id")), patient_id)
    outcomes, new = await uc.intake.submit(patient_id, body, access.who.subject)
    if not new:
        response.status_code = 200  # submitted before: what it recorded then
    for o in outcomes:
        if o.outcome == "recorded":
            await access.wrote(Action.CREATE, KINDS[o.kind].RESOURCE, o.entry_id, patient_id)
    return outcomes


@router.get(
    "/QuestionnaireResponse", response_class=FhirResponse, summary="A patient's intake responses, as a searchset Bundle"
)
async def intake_responses(
    uc: Services, access: PatientAccess, patient: Annotated[str, Query(description="Patient id or Patient/{id}")]
) -> Response:
    patient_id = patient.removeprefix("Patient/")
    await access.read("QuestionnaireResponse", "*", patient_id)
    resources = [QuestionnaireResponse.model_validate(r) for r in await uc.intake.responses_of(patient_id)]
    bundle = Bundle(
        type="searchset",
        total=len(resources),
        entry=[{"resource": r, "search": {"mode": "match"}} for r in resources] or None,
    )
    return Response(bundle.model_dump_json(), media_type=FHIR_JSON)
