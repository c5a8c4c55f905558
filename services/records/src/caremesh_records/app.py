"""Composition root of the records service."""

from caremesh_kit.runtime import Runtime
from fastapi import FastAPI

from caremesh_records import api, handlers, store
from caremesh_records.settings import RecordsSettings
from caremesh_records.usecases import Records

SERVICE = "records"


def build(settings: RecordsSettings | None = None) -> FastAPI:
    runtime = Runtime(SERVICE, settings or RecordsSettings())
    records = Records(patients=store.patients(runtime), timeline=store.Timeline(runtime))
    return runtime.http_app([api.router], records, handlers.subscriptions(records))
