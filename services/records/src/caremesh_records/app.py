"""Composition root of the records service."""

from fastapi import FastAPI

from caremesh_kit.runtime import Runtime
from caremesh_records import api, careplan_api, family_api, fhir, handlers, history_api, store
from caremesh_records.careplan_service import CarePlans, care_plans
from caremesh_records.fhir import importer
from caremesh_records.intake import api as intake_api
from caremesh_records.intake.usecase import Intake
from caremesh_records.settings import RecordsSettings
from caremesh_records.usecases import HealthHistory, Records

SERVICE = "records"


def build(settings: RecordsSettings | None = None) -> FastAPI:
    settings = settings or RecordsSettings()
    runtime = Runtime(SERVICE, settings)
    patients = store.patients(runtime)
    history = HealthHistory(patients=patients, entries=store.History(runtime), codes=store.CurrentCodes(runtime))
    records = Records(
        patients=patients,
        index=store.PatientIndex(runtime, patients),
        timeline=store.timeline(runtime),
        encounters=store.encounters(runtime),
        history=history,
        family=store.family(runtime),
    )
    records.care_plans = CarePlans(
        patients=patients,
        plans=care_plans(runtime),
        timeline=records.timeline,
        overdue_scan_seconds=settings.overdue_scan_seconds,
    )
    runtime.background.append(records.care_plans.overdue_sweeper)
    routers = [
        api.router,
        history_api.router,
        family_api.router,
        intake_api.router,
        careplan_api.router,
        importer.router,
        fhir.api.router,
    ]
    fhir_import = importer.FhirImport(runtime, records)
    runtime.background.append(fhir_import.worker)
    app = runtime.http_app(routers, records, handlers.subscriptions(records))
    app.state.fhir_import = fhir_import
    app.state.intake = Intake(history=history, responses=store.intake_responses(runtime))
    return app
