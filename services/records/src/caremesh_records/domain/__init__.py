"""Records' model and rules: patients, their timeline and encounters, the health history, care
plans, family and consent, the intake questionnaire and the FHIR R4B mapping. No I/O, no clock
(time is passed in), no settings."""

from caremesh_records.domain.patient import (
    MRN_SYSTEM,
    Deceased,
    Demographics,
    DuplicateCandidate,
    Identifier,
    Patient,
    PatientStatus,
    local_date,
    match_key,
    mrn_with_check_digit,
)
from caremesh_records.domain.timeline import (
    Encounter,
    TimelineEntry,
    TimelineKind,
    encounter_from,
    entry_for_booking,
    entry_for_cancellation,
    entry_for_coverage,
    entry_for_decline,
    entry_for_eligibility,
    entry_for_encounter,
    entry_for_ineligibility,
    entry_for_no_show,
)

__all__ = [
    "MRN_SYSTEM",
    "Deceased",
    "Demographics",
    "DuplicateCandidate",
    "Encounter",
    "Identifier",
    "Patient",
    "PatientStatus",
    "TimelineEntry",
    "TimelineKind",
    "encounter_from",
    "entry_for_booking",
    "entry_for_cancellation",
    "entry_for_coverage",
    "entry_for_decline",
    "entry_for_eligibility",
    "entry_for_encounter",
    "entry_for_ineligibility",
    "entry_for_no_show",
    "local_date",
    "match_key",
    "mrn_with_check_digit",
]
