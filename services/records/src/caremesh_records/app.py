"""Composition root of the records service."""

from fastapi import FastAPI

from caremesh_kit.runtime import Runtime
from caremesh_records import api, handlers, store
from caremesh_records.settings import RecordsSettings
from caremesh_records.usecases import Records

SERVICE = "records"


def build(settings: RecordsSettings | None = None) -> FastAPI:
    runtime = Runtime(SERVICE, settings or RecordsSettings())
    records = Records(patients=store.patients(runtime), timeline=store.Timeline(runtime))
    runtime.subscribe(handlers.subscriptions(records))
    app = runtime.http_app([api.router])
    app.state.records = records
    return app
