"""Records' data read as FHIR R4B, against the real store and broker."""

from datetime import UTC, datetime, timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.patient import Patient

from caremesh_contracts import AppointmentFulfilled
from caremesh_records.api.fhir import router as fhir_router
from caremesh_records.app import build
from caremesh_records.settings import RecordsSettings
from caremesh_testing import bearer, eventually, publish_event, running, service_settings

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
CVX = "http://hl7.org/fhir/sid/cvx"
ROLE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"

PATIENT = {
    "given_name": "Ada",
    "family_name": "Fhir",
    "birth_date": "1970-03-09",
    "email": "ada.fhir@example.org",
    "phone": "+442071234567",
    "time_zone": "Europe/London",
}
PENICILLIN = {"system": RXNORM, "code": "7980", "display": "penicillin G"}
# path of the REST collection -> (body, FHIR type, the element that carries the code)
HISTORY = {
    "allergies": ({"substance": PENICILLIN, "reaction": "hives", "severity": "moderate"}, "AllergyIntolerance", "code"),
    "medications": (
        {
            "medication": {"system": RXNORM, "code": "6809", "display": "metformin"},
            "dose": "500 mg",
            "start_date": "2024-01-10",
        },
        "MedicationStatement",
        "medicationCodeableConcept",
    ),
    "conditions": (
        {
            "condition": {"system": SNOMED, "code": "44054006", "display": "Diabetes mellitus type 2"},
            "onset_date": "2023-06-01",
        },
        "Condition",
        "code",
    ),
    "procedures": (
        {"procedure": {"system": CPT, "code": "44950", "display": "Appendectomy"}, "performed_date": "2010-05-04"},
        "Procedure",
        "code",
    ),
    "family-history": (
        {
            "relationship": {"system": ROLE, "code": "MTH", "display": "mother"},
            "condition": {"system": ICD10CM, "code": "C50.911", "display": "Breast cancer, right"},
            "onset_age": 52,
        },
        "FamilyMemberHistory",
        "relationship",
    ),
    "immunizations": (
        {
            "vaccine": {"system": CVX, "code": "140", "display": "Influenza"},
            "date_given": "2024-10-01",
            "lot_number": "AB1234",
        },
        "Immunization",
        "vaccineCode",
    ),
}
TYPES = [t for _, t, _ in HISTORY.values()] + ["Encounter"]
CLINICIAN = bearer("clinician", subject="dr-house")
ADMIN = bearer("admin", subject="privacy-officer")
FHIR_JSON = "application/fhir+json"


@pytest.fixture
async def records(namespace):
    app = build(service_settings(RecordsSettings, namespace))
    # Until app.py serves it, the router is added as the lead will add it.
    if not any(getattr(r, "path", "").startswith("/fhir/") for r in app.routes):
        app.include_router(fhir_router)
    async with running(app) as client:
        yield client


@pytest.fixture
async def chart(records, namespace, amqp_url):
    """A patient with one entry of each kind and one visit; the ids of what was made."""
    pid = (await records.post("/patients", json=PATIENT)).json()["id"]
    ids = {"Patient": pid}
    for path, (body, resource_type, _) in HISTORY.items():
        r = await records.post(f"/patients/{pid}/{path}", json=body, headers=CLINICIAN)
        assert r.status_code == 201, r.text
        ids[resource_type] = r.json()["id"]
    start = datetime(2024, 5, 1, 9, tzinfo=UTC)
    await publish_event(
        amqp_url,
        namespace,
        AppointmentFulfilled(
            appointment_id=f"visit-{pid}",
            patient_id=pid,
            practitioner_id="pr-1",
            practitioner_name="Dr. Who",
            service_code="99213",
            start=start,
            end=start + timedelta(minutes=30),
            completed_at=start + timedelta(minutes=40),
        ),
    )

    async def encounter():
        return (await records.get(f"/patients/{pid}/encounters")).json()

    [visit] = await eventually(encounter, what="the encounter")
    ids["Encounter"] = visit["id"]
    return ids


def fhir(r, status: int = 200) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(FHIR_JSON)
    return r.json()


def problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return r.json()


def validated(resource: dict):
    """The resource parsed by the R4B model of its type."""
    return (
        Bundle.model_validate({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": resource}]})
        .entry[0]
        .resource
    )


async def test_read_the_patient(records, chart):
    pid = chart["Patient"]
    body = fhir(await records.get(f"/fhir/Patient/{pid}"))
    p = Patient.model_validate(body)
    assert p.id == pid and p.name[0].family == "Fhir" and p.name[0].given == ["Ada"]
    assert str(p.birthDate) == "1970-03-09"
    assert [(t.system, t.value) for t in p.telecom] == [("email", "ada.fhir@example.org"), ("phone", "+442071234567")]
    assert body["extension"][0]["valueCode"] == "Europe/London"
    assert problem(await records.get("/fhir/Patient/nobody"), 404)["detail"] == "Patient nobody not found"
    found = fhir(await records.get("/fhir/Patient", params={"_id": pid}))
    assert found["type"] == "searchset" and [e["resource"] for e in found["entry"]] == [body]
    assert problem(await records.get("/fhir/Patient"), 422)["field"] == "_id"


async def test_read_and_search_each_type(records, chart):
    pid = chart["Patient"]
    for body, resource_type, element in HISTORY.values():
        rid = chart[resource_type]
        one = fhir(await records.get(f"/fhir/{resource_type}/{rid}"))
        assert one["resourceType"] == resource_type and one["id"] == rid
        validated(one)
        coded = next(iter(v for k, v in body.items() if isinstance(v, dict) and k != "source"))
        if element == "relationship":
            coded = body["relationship"]
        assert one[element]["coding"] == [coded], resource_type
        assert one["meta"]["source"] == "urn:caremesh:entered"

        bundle = fhir(await records.get(f"/fhir/{resource_type}", params={"patient": pid}))
        parsed = Bundle.model_validate(bundle)
        assert parsed.type == "searchset"
        assert [e["resource"] for e in bundle["entry"]] == [one]
        assert bundle["entry"][0]["fullUrl"].endswith(f"/fhir/{resource_type}/{rid}")
        assert bundle["entry"][0]["search"] == {"mode": "match"}
        # A reference works as the parameter too.
        again = fhir(await records.get(f"/fhir/{resource_type}", params={"patient": f"Patient/{pid}"}))
        assert again["entry"] == bundle["entry"]

    visit = fhir(await records.get(f"/fhir/Encounter/{chart['Encounter']}"))
    validated(visit)
    assert visit["status"] == "finished" and visit["class"]["code"] == "AMB"
    assert visit["type"][0]["coding"] == [{"system": CPT, "code": "99213"}]
    assert visit["participant"][0]["individual"]["display"] == "Dr. Who"
    assert visit["subject"] == {"reference": f"Patient/{pid}"}
    assert visit["period"]["start"].startswith("2024-05-01T09:00:00")
    encounters = fhir(await records.get("/fhir/Encounter", params={"patient": pid}))
    assert [e["resource"] for e in encounters["entry"]] == [visit]


async def test_search_of_another_patient_is_an_empty_bundle_and_pages_link_on(records, chart):
    other = (await records.post("/patients", json=PATIENT)).json()["id"]
    empty = fhir(await records.get("/fhir/Condition", params={"patient": other}))
    assert empty["type"] == "searchset" and "entry" not in empty
    Bundle.model_validate(empty)

    pid = chart["Patient"]
    lisinopril = {"system": RXNORM, "code": "29046", "display": "lisinopril"}
    await records.post(f"/patients/{pid}/medications", json={"medication": lisinopril})
    first = fhir(await records.get("/fhir/MedicationStatement", params={"patient": pid, "_count": 1}))
    assert len(first["entry"]) == 1 and first["entry"][0]["resource"]["medicationCodeableConcept"]["text"] == (
        "lisinopril"
    )  # newest recorded first
    [after] = [link["url"] for link in first["link"] if link["relation"] == "next"]
    second = fhir(await records.get(after.removeprefix("http://service")))
    assert second["entry"][0]["resource"]["id"] == chart["MedicationStatement"]
    third = fhir(
        await records.get(
            next(link["url"] for link in second["link"] if link["relation"] == "next").removeprefix("http://service")
        )
    )
    assert "entry" not in third and [link["relation"] for link in third["link"]] == ["self"]


async def test_everything(records, chart):
    pid = chart["Patient"]
    bundle = fhir(await records.get(f"/fhir/Patient/{pid}/$everything"))
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "searchset" and parsed.total == len(TYPES) + 1
    got = [(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle["entry"]]
    assert got == [("Patient", pid)] + [(t, chart[t]) for t in TYPES]
    for entry in bundle["entry"][1:]:
        resource = entry["resource"]
        assert pid in str(resource.get("patient") or resource.get("subject"))
        assert resource == fhir(await records.get(f"/fhir/{resource['resourceType']}/{resource['id']}"))
    assert (await records.get("/fhir/Patient/nobody/$everything")).status_code == 404


async def test_unknown_types_and_missing_parameters_are_problems(records, chart):
    assert "Observation" in problem(await records.get("/fhir/Observation", params={"patient": "x"}), 404)["detail"]
    assert problem(await records.get(f"/fhir/Observation/{chart['Condition']}"), 404)
    assert problem(await records.get("/fhir/Condition"), 422)["field"] == "patient"
    # An entry is found only under its own type.
    assert problem(await records.get(f"/fhir/AllergyIntolerance/{chart['Condition']}"), 404)
    assert problem(await records.get("/fhir/Encounter/nope"), 404)


async def test_patients_see_only_their_own_and_every_read_is_audited(records, chart):
    pid = chart["Patient"]
    own = bearer("patient", subject="ada", patient_id=pid)
    other = bearer("patient", subject="eve", patient_id="someone-else")
    assert (await records.get(f"/fhir/Patient/{pid}", headers=own)).status_code == 200
    assert (await records.get(f"/fhir/Condition/{chart['Condition']}", headers=own)).status_code == 200
    assert (await records.get(f"/fhir/Condition/{chart['Condition']}", headers=other)).status_code == 403
    assert (await records.get("/fhir/Immunization", params={"patient": pid}, headers=other)).status_code == 403
    assert (await records.get(f"/fhir/Patient/{pid}/$everything", headers=other)).status_code == 403
    assert (await records.get(f"/fhir/Patient/{pid}/$everything", headers=CLINICIAN)).status_code == 200

    trail = (await records.get("/audit", params={"patient_id": pid, "limit": 1000}, headers=ADMIN)).json()
    reads = [
        (e["actor"], e["resource_type"], e["resource_id"], e["allowed"], e["route"])
        for e in reversed(trail)
        if e["route"].startswith("GET /fhir/")
    ]
    everything = "GET /fhir/Patient/{patient_id}/$everything"
    assert reads == [
        ("ada", "Patient", pid, True, "GET /fhir/Patient/{patient_id}"),
        ("ada", "Condition", chart["Condition"], True, "GET /fhir/{resource_type}/{resource_id}"),
        ("eve", "Condition", chart["Condition"], False, "GET /fhir/{resource_type}/{resource_id}"),
        ("eve", "Immunization", "*", False, "GET /fhir/{resource_type}"),
        ("eve", "Patient", pid, False, everything),
        ("dr-house", "Patient", pid, True, everything),
        *[("dr-house", t, "*", True, everything) for t in [*TYPES, "RelatedPerson", "Consent", "CarePlan", "Goal"]],
    ]


async def test_related_persons_and_consent_are_served_as_fhir(records, chart):
    pid = chart["Patient"]
    rp = (
        await records.post(
            f"/patients/{pid}/related-persons",
            json={"given_name": "Ruth", "relationship": "DAU", "email": "ruth@example.org"},
        )
    ).json()
    assert fhir(await records.get("/fhir/Consent", params={"patient": pid})).get("entry") is None  # none given yet
    await records.put(f"/patients/{pid}/related-persons/{rp['id']}/consent", json={"categories": ["appointments"]})
    person = fhir(await records.get(f"/fhir/RelatedPerson/{rp['id']}"))
    assert person["resourceType"] == "RelatedPerson" and person["patient"]["reference"] == f"Patient/{pid}"
    [entry] = fhir(await records.get("/fhir/Consent", params={"patient": pid}))["entry"]
    assert entry["resource"]["status"] == "active"
    assert entry["resource"]["provision"]["code"][0]["coding"][0]["code"] == "appointments"
    bundle = fhir(await records.get(f"/fhir/Patient/{pid}/$everything"))
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert "RelatedPerson" in kinds and "Consent" in kinds
