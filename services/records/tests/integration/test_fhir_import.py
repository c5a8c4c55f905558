"""FHIR Bundle import over HTTP against records' real store and the real broker: the six Synthea
fixtures, re-imports, $everything after import, bulk imports and their worker."""

import asyncio
import json
import uuid
from collections import Counter
from pathlib import Path

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from caremesh_kit.audit import Access, Purpose
from caremesh_kit.auth import Principal, Role
from caremesh_records.app import build
from caremesh_records.settings import RecordsSettings
from caremesh_records.store import Imports
from caremesh_records.usecases.fhir_import import ImportJobs
from caremesh_testing import bearer, delete_namespace, eventually, running, service_settings
from caremesh_testing.fixtures import fixtures_dir

REPO = Path(__file__).resolve().parents[4]
SYNTHEA = fixtures_dir() / "fhir" / "synthea"
NAMES = [f"patient-0{i}.json" for i in range(1, 7)]
FHIR_JSON = {"Content-Type": "application/fhir+json"}
ADMIN = bearer("admin", subject="privacy-officer")
# Source type -> the type records serves it as.
SERVED_AS = {
    "AllergyIntolerance": "AllergyIntolerance",
    "MedicationRequest": "MedicationStatement",
    "MedicationStatement": "MedicationStatement",
    "Condition": "Condition",
    "Procedure": "Procedure",
    "Immunization": "Immunization",
    "FamilyMemberHistory": "FamilyMemberHistory",
}
CODE_ELEMENT = {
    "AllergyIntolerance": "code",
    "MedicationStatement": "medicationCodeableConcept",
    "Condition": "code",
    "Procedure": "code",
    "Immunization": "vaccineCode",
}
COLLECTIONS = ("patients", "health_history", "encounters", "history_codes", "mrns")


def load(name: str) -> bytes:
    path = SYNTHEA / name
    if not path.is_file():
        pytest.fail(
            f"Synthea fixture {path} is missing (see shared/fixtures/README.md; the fixtures live next to "
            "the repository, in ../shared)"
        )
    return path.read_bytes()


def jobs_of(app, run, **options) -> ImportJobs:
    """Import jobs of their own on the app's store, worked by the test instead of the app's sweep."""
    runtime = app.state.runtime
    return ImportJobs(Imports(runtime), run, runtime.audit, runtime.clock, **options)


async def counts(app) -> dict[str, int]:
    db = app.state.runtime.store.db
    return {c: await db[c].count_documents({}) for c in COLLECTIONS}


async def import_one(client, name: str) -> dict:
    r = await client.post("/fhir", content=load(name), headers=FHIR_JSON, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
async def imported():
    """One service with all six fixtures imported once: (app, client, reports by fixture)."""
    namespace = f"test-{uuid.uuid4().hex[:12]}"
    app = build(service_settings(RecordsSettings, namespace))
    try:
        async with running(app) as client:
            reports = {name: await import_one(client, name) for name in NAMES}
            yield app, client, reports
    finally:
        await delete_namespace(namespace)


async def test_all_six_import_with_a_report(imported):
    _, _, reports = imported
    for name, report in reports.items():
        assert len(report["patient_ids"]) == 1, name
        assert report["summary"]["Patient"] == {"imported": 1, "skipped": 0, "rejected": 0}
        assert report["totals"]["imported"] > 10
        raw = json.loads(load(name))
        assert len(report["resources"]) == len(raw["entry"])  # every resource reported
        assert sum(c["imported"] + c["skipped"] + c["rejected"] for c in report["summary"].values()) == len(
            raw["entry"]
        )
        for o in report["resources"]:
            assert o["outcome"] == "imported" or o["reason"], o
        skipped = {o["resource_type"] for o in report["resources"] if o["outcome"] == "skipped"}
        assert {"Observation", "Claim", "ExplanationOfBenefit"} <= skipped
    [rejected] = [o for o in reports["patient-04.json"]["resources"] if o["outcome"] == "rejected"]
    assert rejected["resource_type"] == "Procedure" and "SNOMED CT" in rejected["reason"]


async def test_fixture_05_and_06_import_with_a_clear_report(imported):
    _, _, reports = imported
    five = reports["patient-05.json"]
    assert five["bundle_type"] == "transaction" and five["summary"]["Encounter"]["imported"] == 16
    refs = {u["reference"]: u["count"] for u in five["unresolved_references"]}
    assert any(r.startswith("Practitioner?identifier=") for r in refs)
    assert any(r.startswith("Organization?identifier=") for r in refs)
    warned = [o for o in five["resources"] if any("not in the bundle" in w for w in o["warnings"])]
    assert warned and all(o["outcome"] in ("imported", "skipped") for o in warned)
    assert five["totals"]["rejected"] == 0
    six = reports["patient-06.json"]
    assert six["bundle_type"] == "collection" and six["unresolved_references"] == []
    assert six["summary"]["Procedure"]["imported"] == 74 and "AllergyIntolerance" not in six["summary"]


async def test_a_reimport_creates_nothing_and_says_so(imported):
    app, client, reports = imported
    before = await counts(app)
    for name, first in reports.items():
        again = await import_one(client, name)
        assert again["patient_ids"] == first["patient_ids"]
        assert again["totals"]["imported"] == 0, name
        assert again["totals"]["rejected"] == first["totals"]["rejected"]
        was = {o["entry"]: o for o in first["resources"]}
        for o in again["resources"]:
            if was[o["entry"]]["outcome"] == "imported":
                assert (o["outcome"], o["reason"], o["id"]) == ("skipped", "already imported", was[o["entry"]]["id"])
    assert await counts(app) == before


async def test_everything_has_the_imported_clinical_content_and_validates(imported):
    _, client, reports = imported
    for name, report in reports.items():
        raw = json.loads(load(name))
        [pid] = report["patient_ids"]
        r = await client.get(f"/fhir/Patient/{pid}/$everything", timeout=60)
        assert r.status_code == 200, r.text
        body = r.json()
        Bundle.model_validate(body)
        served = Counter()
        by_id = {}
        for e in body["entry"]:
            res = e["resource"]
            get_fhir_model_class(res["resourceType"]).model_validate(res)  # each one on its own too
            by_id[res["id"]] = res
            if element := CODE_ELEMENT.get(res["resourceType"]):
                for c in res[element]["coding"]:
                    served[(res["resourceType"], c["system"], c["code"])] += 1
        for o in report["resources"]:
            source = raw["entry"][o["entry"]]["resource"]
            if o["resource_type"] in SERVED_AS and o["outcome"] != "rejected":
                resource_type = SERVED_AS[o["resource_type"]]
                got = by_id[o["id"]]  # imported, or the entry that already holds the code
                assert got["resourceType"] == resource_type
                concept = source.get("code") or source.get("medicationCodeableConcept") or source.get("vaccineCode")
                codes = {(c["system"], c["code"]) for c in concept["coding"]}
                assert {(c["system"], c["code"]) for c in got[CODE_ELEMENT[resource_type]]["coding"]} & codes
            if o["resource_type"] == "Encounter":
                got = by_id[o["id"]]
                assert got["resourceType"] == "Encounter" and got["subject"]["reference"] == f"Patient/{pid}"
                assert got["period"]["start"][:16] == _utc(source["period"]["start"])[:16]
            if o["resource_type"] == "CarePlan" and o["outcome"] != "rejected":
                got = by_id[o["id"]]
                assert got["resourceType"] == "CarePlan" and got["status"] == source["status"]
                assert [a["detail"]["code"]["coding"][0]["code"] for a in got.get("activity", [])] == [
                    a["detail"]["code"]["coding"][0]["code"] for a in source.get("activity", [])
                ]
                assert len(got.get("goal", [])) == len(source.get("goal", []))
        imported_codes = sum(
            1 for o in report["resources"] if o["resource_type"] in SERVED_AS and o["outcome"] == "imported"
        )
        assert sum(served.values()) >= imported_codes
        assert (
            sum(1 for e in body["entry"] if e["resource"]["resourceType"] == "Encounter")
            == (report["summary"]["Encounter"]["imported"])
        )


def _utc(text: str) -> str:
    from datetime import UTC, datetime

    return datetime.fromisoformat(text).astimezone(UTC).isoformat()


async def test_records_rules_apply_a_duplicate_is_skipped_and_a_bad_date_rejected(imported):
    _, client, _ = imported
    patient_url = f"urn:uuid:{uuid.uuid4()}"
    diabetes = {"coding": [{"system": "http://snomed.info/sct", "code": "44054006", "display": "Diabetes"}]}

    def condition(onset: str) -> dict:
        return {
            "resource": {
                "resourceType": "Condition",
                "subject": {"reference": patient_url},
                "code": diabetes,
                "clinicalStatus": {"coding": [{"code": "active"}]},
                "onsetDateTime": onset,
            }
        }

    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": patient_url,
                "resource": {
                    "resourceType": "Patient",
                    "name": [{"family": "Rules", "given": ["Rita"]}],
                    "birthDate": "1990-01-01",
                    "telecom": [{"system": "email", "value": "rita@example.org"}],
                },
            },
            condition("2020-01-01"),
            condition("2021-01-01"),
            condition("1980-01-01"),
        ],
    }
    r = await client.post("/fhir", json=bundle)
    assert r.status_code == 200, r.text
    first, duplicate, early = r.json()["resources"][1:]
    assert first["outcome"] == "imported"
    assert duplicate["outcome"] == "skipped" and duplicate["id"] == first["id"]
    assert duplicate["reason"].startswith("duplicate of a current entry: this condition is already recorded")
    assert (early["outcome"], early["reason"]) == ("rejected", "onset_date is before the patient's birth date")


async def test_every_patient_written_is_audited(imported):
    _, client, reports = imported
    [pid] = reports["patient-01.json"]["patient_ids"]
    trail = (await client.get("/audit", params={"patient_id": pid, "limit": 1000}, headers=ADMIN)).json()
    writes = {(e["action"], e["resource_type"], e["route"]) for e in trail if e["route"] == "POST /fhir"}
    assert ("create", "Patient", "POST /fhir") in writes
    for t in ("AllergyIntolerance", "MedicationStatement", "Condition", "Procedure", "Immunization", "Encounter"):
        assert ("create", t, "POST /fhir") in writes, t


async def test_unknown_types_are_skipped_and_malformed_bundles_are_problems(imported):
    _, client, _ = imported
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:7b7c59f0-0000-4000-8000-000000000001",
                "resource": {
                    "resourceType": "Patient",
                    "id": "u1",
                    "name": [{"family": "Odd", "given": ["Una"]}],
                    "birthDate": "1990-01-01",
                    "telecom": [{"system": "email", "value": "una@example.org"}],
                },
            },
            {
                "resource": {
                    "resourceType": "Flag",
                    "status": "active",
                    "code": {"text": "x"},
                    "subject": {"reference": "urn:uuid:7b7c59f0-0000-4000-8000-000000000001"},
                }
            },
            {"resource": {"resourceType": "Invented"}},
        ],
    }
    r = await client.post("/fhir", json=bundle)
    assert r.status_code == 200, r.text
    out = {o["resource_type"]: o for o in r.json()["resources"]}
    assert out["Flag"]["outcome"] == "skipped" and "Flag is not imported" in out["Flag"]["reason"]
    assert out["Invented"]["outcome"] == "skipped" and out["Patient"]["outcome"] == "imported"

    def problem(resp, status: int, field: str) -> None:
        assert resp.status_code == status, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["field"] == field

    problem(await client.post("/fhir", json={"resourceType": "Bundle", "type": "batch"}), 422, "type")
    problem(
        await client.post(
            "/fhir",
            json={"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": {"resourceType": "Basic"}}]},
        ),
        422,
        "entry.0.request",
    )
    problem(await client.post("/fhir", content=b"{nope", headers=FHIR_JSON), 422, "body")
    problem(await client.post("/imports", json=[bundle, {"resourceType": "Bundle"}]), 422, "1.type")
    assert (
        await client.post("/fhir", content=b"<Bundle/>", headers={"Content-Type": "application/xml"})
    ).status_code == 415
    for role in ("clinician", "patient"):
        assert (await client.post("/fhir", json=bundle, headers=bearer(role))).status_code == 403
    assert (await client.get("/imports/nope")).status_code == 404


# -- bulk -----------------------------------------------------------------------------------------


async def test_bulk_import_of_all_six_shows_progress_to_completion(namespace, imported):
    _, _, sync_reports = imported
    app = build(service_settings(RecordsSettings, namespace))
    async with running(app) as client:
        bundles = [json.loads(load(n)) for n in NAMES]
        r = await client.post("/imports", json=bundles)
        assert r.status_code == 202, r.text
        job = r.json()
        assert r.headers["location"] == f"/imports/{job['id']}"
        assert job["bundles"] == {"done": 0, "total": 6}
        assert job["resources"]["total"] == sum(len(b["entry"]) for b in bundles)
        seen = []

        async def finished():
            s = (await client.get(f"/imports/{job['id']}", params={"limit": 0})).json()
            seen.append((s["bundles"]["done"], s["resources"]["done"]))
            return s if s["status"] == "completed" else None

        done = await eventually(finished, timeout=240, interval=0.3, what="the bulk import")
        assert seen == sorted(seen)  # progress only grows
        assert done["resources"] == {"done": job["resources"]["total"], "total": job["resources"]["total"]}
        expected = {}
        for report in sync_reports.values():  # the same bundles into an empty store, one at a time
            for t, c in report["summary"].items():
                expected[t] = {k: expected.get(t, {}).get(k, 0) + v for k, v in c.items()}
        assert done["summary"] == expected and done["failed_bundles"] == []
        page = (await client.get(f"/imports/{job['id']}", params={"outcome": "rejected"})).json()
        assert [(o["bundle"], o["resource_type"]) for o in page["outcomes"]] == [(3, "Procedure")]
        everything = (await client.get(f"/imports/{job['id']}", params={"limit": 5000})).json()
        assert everything["outcomes_total"] == job["resources"]["total"]
        assert {o["bundle"] for o in everything["outcomes"]} == set(range(6))

        # The same bundles again, as NDJSON: nothing new.
        ndjson = b"\n".join(load(n).replace(b"\n", b"") for n in NAMES[4:])
        again = (await client.post("/imports", content=ndjson, headers={"Content-Type": "application/x-ndjson"})).json()

        async def again_done():
            s = (await client.get(f"/imports/{again['id']}", params={"limit": 0})).json()
            return s if s["status"] == "completed" else None

        second = await eventually(again_done, timeout=120, interval=0.3, what="the second bulk import")
        assert second["totals"]["imported"] == 0 and second["bundles"]["total"] == 2
        db = app.state.runtime.store.db
        assert await db["import_queue"].count_documents({}) == 0
        assert await db["import_bundles"].count_documents({}) == 0  # payloads go once done


async def test_two_replicas_never_take_one_bundle_and_a_lost_lease_is_resumed(namespace):
    """Two workers on one store, without the app's own worker running: one claim per bundle at a
    time; when a worker dies holding one, the other takes it over once the lease runs out."""
    settings = service_settings(RecordsSettings, namespace)
    apps = [build(settings), build(settings)]
    a, b = (jobs_of(app, app.state.usecases.fhir_import.run, lease_seconds=0.5) for app in apps)
    who = Principal(subject="importer", roles=frozenset({Role.COORDINATOR}))
    access = Access(who, Purpose.TREAT, apps[0].state.runtime.audit, "POST /imports")
    try:
        job = await a.submit([load("patient-01.json").decode(), load("patient-02.json").decode()], 273, access, None)
        first, second = [q["_id"] async for q in a.imports.queue.find({}).sort("_id")]
        assert await a._claim(first, job["_id"]) == f"{first}#1"  # a takes it, then "dies"
        assert await b._claim(first, job["_id"]) is None
        assert await b.work_one()  # b skips the held bundle and does the other
        assert await a.imports.results.find_one({"_id": second}) is not None
        assert await a.imports.results.find_one({"_id": first}) is None
        await asyncio.sleep(0.6)  # a's lease runs out
        assert await b.work_one()
        assert not await b.work_one() and not await a.work_one()
        results = [r async for r in a.imports.results.find({"job_id": job["_id"]})]
        assert sorted(r["index"] for r in results) == [0, 1]
        assert all(r["report"]["totals"]["imported"] > 0 for r in results)
        assert await a.imports.claims.count_documents({}) == 0
    finally:
        db = apps[0].state.runtime.store
        await db.client.drop_database(settings.mongodb_db)
        for app in apps:
            await app.state.runtime.store.close()


async def test_a_failing_bundle_is_retried_then_given_up_and_reported(namespace):
    settings = service_settings(RecordsSettings, namespace)
    app = build(settings)
    calls = []

    async def flaky(body, source, access, progress):
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("store went away")  # the first try fails: retried
        return await app.state.usecases.fhir_import.run(body, source, access, progress)

    async def broken(body, source, access, progress):
        raise ConnectionError("always")

    who = Principal(subject="importer", roles=frozenset({Role.COORDINATOR}))
    access = Access(who, Purpose.TREAT, app.state.runtime.audit, "POST /imports")
    try:
        jobs = jobs_of(app, flaky, retry_seconds=0)
        job = await jobs.submit([load("patient-03.json").decode()], 161, access, None)
        assert await jobs.work_one()  # fails, lets the lease go
        assert await jobs.work_one()  # attempt 2 succeeds
        [result] = [r async for r in jobs.imports.results.find({"job_id": job["_id"]})]
        assert result["report"]["totals"]["imported"] > 0 and len(calls) == 2

        jobs = jobs_of(app, broken, retry_seconds=0)
        job = await jobs.submit([load("patient-03.json").decode()], 161, access, None)
        while await jobs.work_one():
            pass
        [result] = [r async for r in jobs.imports.results.find({"job_id": job["_id"]})]
        assert result["error"] == "gave up after 5 attempts"
        assert await jobs.imports.queue.count_documents({}) == 0
    finally:
        await app.state.runtime.store.client.drop_database(settings.mongodb_db)
        await app.state.runtime.store.close()
