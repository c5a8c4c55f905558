"""Composition root of the records service."""

from caremesh_kit.runtime import Runtime
from fastapi import FastAPI

from caremesh_records import api, family_api, fhir, handlers, history_api, store
from caremesh_records.intake import api as intake_api
from caremesh_records.intake.usecase import Intake
from caremesh_records.settings import RecordsSettings
from caremesh_records.usecases import HealthHistory, Records

SERVICE = "records"


def build(settings: RecordsSettings | None = None) -> FastAPI:
    runtime = Runtime(SERVICE, settings or RecordsSettings())
    patients = store.patients(runtime)
    history = HealthHistory(patients=patients, entries=store.History(runtime), codes=store.CurrentCodes(runtime))
    records = Records(patients=patients, index=store.PatientIndex(runtime, patients),
                      timeline=store.timeline(runtime), encounters=store.encounters(runtime), history=history,
                      family=store.family(runtime))
    routers = [api.router, history_api.router, family_api.router, intake_api.router, fhir.api.router]
    app = runtime.http_app(routers, records, handlers.subscriptions(records))
    app.state.intake = Intake(history=history, responses=store.intake_responses(runtime))
    return app
