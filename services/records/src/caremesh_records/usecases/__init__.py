"""Records' use cases, one module per capability, called by the HTTP API and the event handlers
alike. ``UseCases`` is the one container the composition root fills and the routes reach."""

from dataclasses import dataclass

from caremesh_kit.clock import Clock
from caremesh_records.usecases.care_plans import CarePlans
from caremesh_records.usecases.family import Family
from caremesh_records.usecases.fhir_import import FhirImport, ImportJobs
from caremesh_records.usecases.history import HealthHistory
from caremesh_records.usecases.intake import Intake
from caremesh_records.usecases.patients import Patients
from caremesh_records.usecases.timeline import Timeline


@dataclass(frozen=True)
class UseCases:
    patients: Patients
    timeline: Timeline
    history: HealthHistory
    family: Family
    care_plans: CarePlans
    intake: Intake
    fhir_import: FhirImport
    import_jobs: ImportJobs
    clock: Clock  # what routes render "now" with (a goal's progress, a task's overdue flag)


__all__ = [
    "CarePlans",
    "Family",
    "FhirImport",
    "HealthHistory",
    "ImportJobs",
    "Intake",
    "Patients",
    "Timeline",
    "UseCases",
]
