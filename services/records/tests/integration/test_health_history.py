"""The coded health history against records' real store and the real broker."""

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest

from caremesh_records.app import build
from caremesh_records.settings import RecordsSettings
from caremesh_testing import bearer, running, service_settings

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
CVX = "http://hl7.org/fhir/sid/cvx"
ROLE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"

PATIENT = {
    "given_name": "Ada",
    "family_name": "History",
    "birth_date": "1970-03-09",
    "email": "ada.history@example.org",
    "time_zone": "Europe/London",
}
METFORMIN = {"system": RXNORM, "code": "6809", "display": "metformin"}
DIABETES = {"system": SNOMED, "code": "44054006", "display": "Diabetes mellitus type 2"}
PENICILLIN = {"system": RXNORM, "code": "7980", "display": "penicillin G"}

# One valid body per kind, with the field that carries its code.
BODIES = {
    "allergies": (
        {"substance": PENICILLIN, "reaction": "hives", "severity": "moderate", "verification": "confirmed"},
        "active",
    ),
    "medications": (
        {
            "medication": METFORMIN,
            "dose": "500 mg",
            "route": "oral",
            "frequency": "twice daily",
            "start_date": "2024-01-10",
        },
        "active",
    ),
    "conditions": ({"condition": DIABETES, "onset_date": "2023-06-01"}, "active"),
    "procedures": (
        {"procedure": {"system": CPT, "code": "44950", "display": "Appendectomy"}, "performed_date": "2010-05-04"},
        "completed",
    ),
    "family-history": (
        {
            "relationship": {"system": ROLE, "code": "MTH", "display": "mother"},
            "condition": {"system": ICD10CM, "code": "C50.911", "display": "Breast cancer, right"},
            "onset_age": 52,
        },
        "completed",
    ),
    "immunizations": (
        {
            "vaccine": {"system": CVX, "code": "140", "display": "Influenza, injectable, preservative free"},
            "date_given": "2024-10-01",
            "lot_number": "AB1234",
        },
        "completed",
    ),
}
RESOURCES = {
    "allergies": "AllergyIntolerance",
    "medications": "MedicationStatement",
    "conditions": "Condition",
    "procedures": "Procedure",
    "family-history": "FamilyMemberHistory",
    "immunizations": "Immunization",
}
CLINICIAN = bearer("clinician", subject="dr-house")
ADMIN = bearer("admin", subject="privacy-officer")


@pytest.fixture
async def service(namespace):
    app = build(service_settings(RecordsSettings, namespace))
    async with running(app) as client:
        yield app, client


@pytest.fixture
def records(service):
    return service[1]


@pytest.fixture
async def pid(records):
    r = await records.post("/patients", json=PATIENT)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return r.json()


# -- create, read, list ------------------------------------------------------------------------


@pytest.mark.parametrize("path", list(BODIES))
async def test_each_kind_is_recorded_with_provenance_and_read_back(records, pid, path):
    body, status = BODIES[path]
    source = {"type": "encounter", "encounter_id": "appt-42"}
    before = datetime.now(UTC)
    r = await records.post(f"/patients/{pid}/{path}", json=body | {"source": source}, headers=CLINICIAN)
    assert r.status_code == 201, r.text
    entry = r.json()
    assert {k: entry[k] for k in body} == body
    assert entry["patient_id"] == pid and entry["status"] == status and entry["version"] == 1
    prov = entry["provenance"]
    assert prov["recorded_by"] == "dr-house" and prov["source"] == source
    assert before <= datetime.fromisoformat(prov["recorded_at"]) <= datetime.now(UTC)
    assert entry["status_history"] == [{"status": status, "by": "dr-house", "at": prov["recorded_at"], "reason": None}]

    assert (await records.get(f"/patients/{pid}/{path}/{entry['id']}")).json() == entry
    assert (await records.get(f"/patients/{pid}/{path}")).json() == [entry]
    # Kinds are kept apart: the entry is not found, nor listed, under another kind.
    other = "conditions" if path != "conditions" else "allergies"
    assert (await records.get(f"/patients/{pid}/{other}/{entry['id']}")).status_code == 404
    assert (await records.get(f"/patients/{pid}/{other}")).json() == []


async def test_source_defaults_to_entered_and_import_keeps_its_reference(records, pid):
    r = await records.post(f"/patients/{pid}/conditions", json={"condition": DIABETES})
    assert r.json()["provenance"]["source"] == {"type": "entered"}
    imported = {"type": "imported", "reference": "CCD from St. Elsewhere, 2024-03-01"}
    r = await records.post(f"/patients/{pid}/medications", json={"medication": METFORMIN, "source": imported})
    assert r.json()["provenance"]["source"] == imported
    r = await records.post(
        f"/patients/{pid}/allergies", json={"substance": PENICILLIN, "source": {"type": "encounter"}}
    )
    assert [e["field"] for e in problem(r, 422)["errors"]] == ["source.encounter.encounter_id"]


async def test_lists_filter_by_status(records, pid):
    a = (await records.post(f"/patients/{pid}/medications", json={"medication": METFORMIN})).json()
    lisinopril = {"system": RXNORM, "code": "29046", "display": "lisinopril"}
    b = (await records.post(f"/patients/{pid}/medications", json={"medication": lisinopril})).json()
    r = await records.post(f"/patients/{pid}/medications/{b['id']}/status", json={"status": "stopped"})
    assert r.status_code == 200, r.text

    async def ids(status=None):
        params = {"status": status} if status else {}
        return [e["id"] for e in (await records.get(f"/patients/{pid}/medications", params=params)).json()]

    assert await ids("active") == [a["id"]]
    assert await ids("stopped") == [b["id"]]
    assert await ids("on-hold") == []
    assert await ids() == [b["id"], a["id"]]  # newest recorded first
    assert (
        problem(await records.get(f"/patients/{pid}/medications", params={"status": "resolved"}), 422)["errors"][0][
            "field"
        ]
        == "status"
    )


# -- status changes ------------------------------------------------------------------------------


async def test_stopping_a_medication_keeps_who_and_when_and_checks_the_version(records, pid):
    med = (
        await records.post(f"/patients/{pid}/medications", json={"medication": METFORMIN, "start_date": "2024-01-10"})
    ).json()
    url = f"/patients/{pid}/medications/{med['id']}/status"
    r = await records.post(
        url, json={"status": "stopped", "end_date": "2025-02-01", "reason": "GI upset", "version": 1}, headers=CLINICIAN
    )
    assert r.status_code == 200, r.text
    stopped = r.json()
    assert (stopped["status"], stopped["end_date"], stopped["version"]) == ("stopped", "2025-02-01", 2)
    change = stopped["status_history"][-1]
    assert (change["status"], change["by"], change["reason"]) == ("stopped", "dr-house", "GI upset")
    assert stopped["provenance"] == med["provenance"]  # who recorded it first does not change

    # A repeat changes nothing; a change meant for an older version is refused.
    assert (await records.post(url, json={"status": "stopped"})).json() == stopped
    body = problem(await records.post(url, json={"status": "active", "version": 1}), 409)
    assert body["current_version"] == 2
    # Stopped is final.
    body = problem(await records.post(url, json={"status": "active"}), 409)
    assert (body["current"], body["requested"]) == ("stopped", "active")
    assert (await records.get(f"/patients/{pid}/medications/{med['id']}")).json() == stopped


async def test_rules_of_a_status_change_are_422_naming_the_field(records, pid):
    med = (
        await records.post(f"/patients/{pid}/medications", json={"medication": METFORMIN, "start_date": "2024-01-10"})
    ).json()
    url = f"/patients/{pid}/medications/{med['id']}/status"
    assert (
        problem(await records.post(url, json={"status": "on-hold", "end_date": "2025-01-01"}), 422)["field"]
        == "end_date"
    )
    assert (
        problem(await records.post(url, json={"status": "stopped", "end_date": "2023-01-01"}), 422)["field"]
        == "end_date"
    )
    tomorrow = str(date.today() + timedelta(days=2))
    assert (
        problem(await records.post(url, json={"status": "completed", "end_date": tomorrow}), 422)["field"] == "end_date"
    )
    assert (await records.get(f"/patients/{pid}/medications/{med['id']}")).json()["version"] == 1


# -- duplicates ----------------------------------------------------------------------------------


async def test_the_same_active_code_is_a_409_naming_the_existing_entry(records, pid):
    first = (await records.post(f"/patients/{pid}/conditions", json={"condition": DIABETES})).json()
    body = problem(
        await records.post(f"/patients/{pid}/conditions", json={"condition": DIABETES | {"display": "T2DM"}}), 409
    )
    assert body["existing_id"] == first["id"] and first["id"] in body["detail"]
    assert body["field"] == "condition"
    # Another patient, or another kind with the same code system, is not a duplicate.
    other = (await records.post("/patients", json=PATIENT)).json()["id"]
    assert (await records.post(f"/patients/{other}/conditions", json={"condition": DIABETES})).status_code == 201
    fam = {"relationship": {"system": ROLE, "code": "FTH", "display": "father"}, "condition": DIABETES}
    assert (await records.post(f"/patients/{pid}/family-history", json=fam)).status_code == 201
    assert (await records.post(f"/patients/{pid}/family-history", json=fam)).status_code == 409


async def test_a_resolved_condition_frees_its_code_and_cannot_come_back_as_a_duplicate(records, pid):
    url = f"/patients/{pid}/conditions"
    first = (await records.post(url, json={"condition": DIABETES})).json()
    assert (await records.post(f"{url}/{first['id']}/status", json={"status": "resolved"})).status_code == 200
    second = await records.post(url, json={"condition": DIABETES})
    assert second.status_code == 201, second.text
    second = second.json()
    # The old entry cannot recur while the new one is active...
    body = problem(await records.post(f"{url}/{first['id']}/status", json={"status": "recurrence"}), 409)
    assert body["existing_id"] == second["id"]
    assert (await records.get(f"{url}/{first['id']}")).json()["status"] == "resolved"
    # ...and can once it is not.
    assert (await records.post(f"{url}/{second['id']}/status", json={"status": "resolved"})).status_code == 200
    r = await records.post(f"{url}/{first['id']}/status", json={"status": "recurrence"})
    assert r.status_code == 200 and r.json()["status"] == "recurrence"
    assert [e["id"] for e in (await records.get(url, params={"status": "recurrence"})).json()] == [first["id"]]


async def test_concurrent_duplicates_record_one_entry(records, pid):
    url = f"/patients/{pid}/allergies"
    responses = await asyncio.gather(*[records.post(url, json={"substance": PENICILLIN}) for _ in range(8)])
    created = [r.json() for r in responses if r.status_code == 201]
    assert len(created) == 1, [r.text for r in responses]
    conflicts = [r.json() for r in responses if r.status_code != 201]
    assert len(conflicts) == 7 and all(c["status"] == 409 for c in conflicts)
    assert {c["existing_id"] for c in conflicts} == {created[0]["id"]}
    assert len((await records.get(url)).json()) == 1


async def test_a_claim_left_by_a_crash_blocks_only_while_it_could_still_be_in_flight(service, pid):
    app, records = service
    claims = app.state.runtime.store.db["history_codes"]
    key = f"{pid}/medication/{RXNORM}|{METFORMIN['code']}"
    await claims.insert_one({"_id": key, "entry_id": "ghost", "version": 1, "claimed_at": datetime.now(UTC)})
    url = f"/patients/{pid}/medications"
    assert problem(await records.post(url, json={"medication": METFORMIN}), 409)["existing_id"] == "ghost"
    await claims.update_one({"_id": key}, {"$set": {"claimed_at": datetime.now(UTC) - timedelta(minutes=5)}})
    r = await records.post(url, json={"medication": METFORMIN})
    assert r.status_code == 201, r.text
    assert (await claims.find_one({"_id": key}))["entry_id"] == r.json()["id"]


async def test_a_late_release_does_not_free_a_code_taken_again_since(service, pid):
    app, records = service
    claims = app.state.runtime.store.db["history_codes"]
    url = f"/patients/{pid}/conditions"
    condition = (await records.post(url, json={"condition": DIABETES})).json()
    key = f"condition/{SNOMED}|{DIABETES['code']}"
    assert (await records.post(f"{url}/{condition['id']}/status", json={"status": "resolved"})).status_code == 200
    assert await claims.find_one({"_id": f"{pid}/{key}"}) is None
    # As if the release after resolving (version 2) had not run yet when the condition recurs...
    await claims.insert_one(
        {"_id": f"{pid}/{key}", "entry_id": condition["id"], "version": 1, "claimed_at": datetime.now(UTC)}
    )
    r = await records.post(f"{url}/{condition['id']}/status", json={"status": "recurrence"})
    assert r.status_code == 200 and r.json()["version"] == 3
    # ...and runs now: the claim of version 3 stays, so the code is still guarded.
    await app.state.usecases.history.codes.release(pid, key, condition["id"], below=2)
    assert (await claims.find_one({"_id": f"{pid}/{key}"}))["version"] == 3
    assert problem(await records.post(url, json={"condition": DIABETES}), 409)["existing_id"] == condition["id"]


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field", "says"),
    [
        ("conditions", {"condition": DIABETES | {"code": "44054007"}}, "condition.code", "check digit"),
        ("conditions", {"condition": DIABETES | {"code": "195967011"}}, "condition.code", "partition"),
        (
            "conditions",
            {"condition": {"system": ICD10CM, "code": "E119", "display": "T2DM"}},
            "condition.code",
            "ICD-10-CM",
        ),
        ("medications", {"medication": DIABETES | {"code": "372687004"}}, "medication.system", "RxNorm"),
        ("medications", {"medication": METFORMIN | {"code": "12345678"}}, "medication.code", "RxNorm"),
        (
            "allergies",
            {"substance": {"system": "http://loinc.org", "code": "1-8", "display": "x"}},
            "substance.system",
            "SNOMED CT",
        ),
        ("procedures", {"procedure": {"system": CPT, "code": "4495", "display": "x"}}, "procedure.code", "CPT"),
        (
            "immunizations",
            {"vaccine": {"system": CVX, "code": "1400", "display": "x"}, "date_given": "2024-01-01"},
            "vaccine.code",
            "CVX",
        ),
        (
            "family-history",
            {"relationship": {"system": ROLE, "code": "MOM", "display": "mum"}, "condition": DIABETES},
            "relationship.code",
            "RoleCode",
        ),
        ("conditions", {"condition": DIABETES, "onset_date": "1960-01-01"}, "onset_date", "birth date"),
        (
            "immunizations",
            {
                "vaccine": {"system": CVX, "code": "140", "display": "flu"},
                "date_given": "2024-01-01",
                "status": "not-done",
                "lot_number": "AB1",
            },
            "lot_number",
            "not given",
        ),
    ],
)
async def test_a_bad_code_or_date_is_422_naming_the_field(records, pid, path, body, field, says):
    r = await records.post(f"/patients/{pid}/{path}", json=body)
    got = problem(r, 422)
    assert got["field"] == field and says in got["detail"], got
    assert (await records.get(f"/patients/{pid}/{path}")).json() == []


async def test_a_coded_value_needs_its_display_text(records, pid):
    r = await records.post(f"/patients/{pid}/medications", json={"medication": METFORMIN | {"display": "  "}})
    assert [e["field"] for e in problem(r, 422)["errors"]] == ["medication.display"]


# -- patients and access -------------------------------------------------------------------------


async def test_an_unknown_patient_is_404(records, pid):
    url = "/patients/nobody/medications"
    assert problem(await records.post(url, json={"medication": METFORMIN}), 404)["detail"] == "Patient nobody not found"
    assert (await records.get(url)).status_code == 404
    med = (await records.post(f"/patients/{pid}/medications", json={"medication": METFORMIN})).json()
    assert (await records.get(f"{url}/{med['id']}")).status_code == 404
    assert (await records.post(f"{url}/{med['id']}/status", json={"status": "stopped"})).status_code == 404
    assert (await records.get(f"/patients/{pid}/medications/{med['id']}")).json()["status"] == "active"


async def test_patients_read_only_their_own_history_and_cannot_write_it(records, pid):
    med = (await records.post(f"/patients/{pid}/medications", json={"medication": METFORMIN})).json()
    own, other = bearer("patient", subject="ada", patient_id=pid), bearer("patient", subject="eve", patient_id="x")
    one = f"/patients/{pid}/medications/{med['id']}"
    assert (await records.get(f"/patients/{pid}/medications", headers=own)).json() == [med]
    assert (await records.get(one, headers=own)).json() == med
    assert (await records.get(f"/patients/{pid}/medications", headers=other)).status_code == 403
    assert (await records.get(one, headers=other)).status_code == 403
    assert (
        await records.post(f"/patients/{pid}/medications", json={"medication": METFORMIN}, headers=own)
    ).status_code == 403
    assert (await records.post(f"{one}/status", json={"status": "stopped"}, headers=own)).status_code == 403
    assert (await records.get(one, headers={"Authorization": ""})).status_code == 401
    # Another patient's path does not reach this entry, even for staff.
    second = (await records.post("/patients", json=PATIENT)).json()["id"]
    assert (await records.get(f"/patients/{second}/medications/{med['id']}")).status_code == 404
    assert (await records.get(one)).json()["status"] == "active"


async def test_reads_and_writes_are_audited(records, pid):
    body, _ = BODIES["allergies"]
    entry = (await records.post(f"/patients/{pid}/allergies", json=body, headers=CLINICIAN)).json()
    await records.get(f"/patients/{pid}/allergies", headers=bearer("patient", subject="ada", patient_id=pid))
    await records.get(
        f"/patients/{pid}/allergies/{entry['id']}", headers=bearer("patient", subject="eve", patient_id="x")
    )
    await records.post(
        f"/patients/{pid}/allergies/{entry['id']}/status",
        json={"status": "resolved"},
        headers=CLINICIAN | {"X-Purpose-Of-Use": "CAREMGT"},
    )

    trail = (await records.get("/audit", params={"patient_id": pid}, headers=ADMIN)).json()
    got = [
        (e["actor"], e["action"], e["resource_type"], e["resource_id"], e["purpose"], e["allowed"])
        for e in reversed(trail)
        if e["resource_type"] != "Patient"
    ]
    assert got == [
        ("dr-house", "create", "AllergyIntolerance", entry["id"], "TREAT", True),
        ("ada", "read", "AllergyIntolerance", "*", "PATRQT", True),
        ("eve", "read", "AllergyIntolerance", entry["id"], "PATRQT", False),
        ("dr-house", "update", "AllergyIntolerance", entry["id"], "CAREMGT", True),
    ]
    assert trail[0]["route"] == "POST /patients/{patient_id}/allergies/{entry_id}/status"


@pytest.mark.parametrize("path", list(BODIES))
async def test_every_kind_reads_and_writes_under_its_fhir_resource_type(records, pid, path):
    entry = (await records.post(f"/patients/{pid}/{path}", json=BODIES[path][0])).json()
    await records.get(f"/patients/{pid}/{path}/{entry['id']}")
    trail = (await records.get("/audit", params={"patient_id": pid}, headers=ADMIN)).json()
    assert [(e["action"], e["resource_type"]) for e in trail[:2]] == [
        ("read", RESOURCES[path]),
        ("create", RESOURCES[path]),
    ]
