"""Composition root of the records service: builds everything, the only place that wires."""

from fastapi import FastAPI

from caremesh_kit.clock import Clock, system_clock
from caremesh_kit.runtime import Runtime
from caremesh_records import handlers, store
from caremesh_records.api import care_plans, family, fhir, history, imports, intake, patients
from caremesh_records.api.policy import POLICY
from caremesh_records.settings import RecordsSettings
from caremesh_records.usecases import (
    CarePlans,
    Family,
    FhirImport,
    HealthHistory,
    ImportJobs,
    Intake,
    Patients,
    Timeline,
    UseCases,
)
from caremesh_records.usecases.fhir_import import Targets

SERVICE = "records"
IMPORT_POLL_SECONDS = 1.0  # how soon a queued bulk import is started


def build(settings: RecordsSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or RecordsSettings()
    runtime = Runtime(SERVICE, settings, clock=clock or system_clock)
    clock = runtime.clock
    patient_repo = store.patients(runtime)
    timeline_log, encounter_log = store.timeline(runtime), store.encounters(runtime)
    index = store.PatientIndex(runtime, patient_repo)
    health_history = HealthHistory(patient_repo, store.History(runtime), store.CurrentCodes(runtime), clock)
    plans = CarePlans(patient_repo, store.CarePlanStore(runtime), timeline_log, clock)
    fhir_import = FhirImport(Targets(patient_repo, index, health_history, encounter_log, plans, clock))
    import_jobs = ImportJobs(store.Imports(runtime), fhir_import.run, runtime.audit, clock)
    uc = UseCases(
        patients=Patients(patient_repo, index, timeline_log, encounter_log, clock),
        timeline=Timeline(timeline_log, encounter_log, clock),
        history=health_history,
        family=Family(patient_repo, store.RelatedPersons(runtime), clock),
        care_plans=plans,
        intake=Intake(patient_repo, health_history, store.IntakeResponses(runtime), clock),
        fhir_import=fhir_import,
        import_jobs=import_jobs,
        clock=clock,
    )
    runtime.sweep(settings.overdue_scan_seconds, plans.flag_overdue_tasks, "marked care-plan tasks overdue")
    runtime.sweep(IMPORT_POLL_SECONDS, import_jobs.work, "imported bulk bundles")
    routers = [
        patients.router,
        history.router,
        family.router,
        intake.router,  # before the generic FHIR routes, so its paths are matched first
        care_plans.router,
        imports.router,
        fhir.router,
    ]
    return runtime.http_app(routers, uc, handlers.subscriptions(uc), POLICY)
