"""Records' store: every collection of the service and every query on them. Use cases call these
methods; none of them queries a collection itself."""

from caremesh_records.store.care_plans import CarePlanStore
from caremesh_records.store.family import RelatedPersons
from caremesh_records.store.history import CurrentCodes, History
from caremesh_records.store.imports import Imports
from caremesh_records.store.intake import IntakeResponses
from caremesh_records.store.patients import PatientIndex, PatientLog, encounters, patients, timeline

__all__ = [
    "CarePlanStore",
    "CurrentCodes",
    "History",
    "Imports",
    "IntakeResponses",
    "PatientIndex",
    "PatientLog",
    "RelatedPersons",
    "encounters",
    "patients",
    "timeline",
]
