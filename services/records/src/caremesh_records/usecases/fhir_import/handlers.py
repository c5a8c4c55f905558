"""The resource types an import takes, and how: the one table to extend.

To import another type, add one entry to ``HANDLERS``:

    "CarePlan": Handler(map=careplans.from_fhir, write=careplans.write),

where ``map(entry, bundle) -> list[Item]`` is pure (raise ``plan.Skip`` or ``plan.Reject`` with the
reason for the report; resolve the patient with ``clinical.patient_of``) and
``write(sink, item) -> writer.Result`` stores one item once (derive its id with
``patient.derived_id(patient_id, item.key)``). Then drop the type from ``NOT_IMPORTED``. A type
written as part of another (``carried=True``, a Goal with its CarePlan) is written last, and its
``write`` reports what the other made of it (``Sink.carried``).
"""

from caremesh_records.usecases.fhir_import import careplans, clinical, encounters, writer
from caremesh_records.usecases.fhir_import.patient import patient
from caremesh_records.usecases.fhir_import.plan import Handler

HANDLERS: dict[str, Handler] = {
    "Patient": Handler(patient, writer.write_patient),
    "AllergyIntolerance": Handler(clinical.allergy, writer.write_history),
    "MedicationRequest": Handler(clinical.medication_request, writer.write_history),
    "MedicationStatement": Handler(clinical.medication_statement, writer.write_history),
    "Condition": Handler(clinical.condition, writer.write_history),
    "Procedure": Handler(clinical.procedure, writer.write_history),
    "Immunization": Handler(clinical.immunization, writer.write_history),
    "FamilyMemberHistory": Handler(clinical.family_history, writer.write_history),
    "Encounter": Handler(encounters.encounter, writer.write_encounter),
    "CarePlan": Handler(careplans.care_plan, careplans.write_care_plan),
    "Goal": Handler(careplans.goal, careplans.write_goal, carried=True),  # written with its plan
}

# Why a type is skipped; any other type gets plan.DEFAULT_REASON.
NOT_IMPORTED: dict[str, str] = {
    "Observation": "observations (vital signs, results, surveys) are not kept by records",
    "DiagnosticReport": "diagnostic reports are not kept by records",
    "ImagingStudy": "imaging studies are not kept by records",
    "Claim": "claims are billing data, which records does not keep",
    "ExplanationOfBenefit": "explanations of benefit are billing data, which records does not keep",
    "CareTeam": "care teams are not imported",
    "Organization": "organizations are not imported; records keeps patients and their history",
    "Practitioner": "practitioners are not imported (scheduling keeps them); encounters keep their practitioner's name",
    "Medication": "read through the MedicationRequest or MedicationStatement that names it",
}
