"""Break-glass: a clinician bound to one patient reads another's record in an emergency, saying
why; it is allowed, audited as break-glass with the reason, and listed for the privacy officer.
Records runs in-process on the real broker and store."""

import pytest

from caremesh_records.app import build
from caremesh_records.settings import RecordsSettings
from caremesh_testing import bearer, running, service_settings

ADMIN = bearer("admin", subject="privacy-officer")
EMERGENCY = {"X-Purpose-Of-Use": "ETREAT", "X-Break-Glass-Reason": "unconscious in the emergency department"}


def patient(name: str) -> dict[str, str]:
    return {
        "given_name": name,
        "family_name": "Glass",
        "birth_date": "1970-05-05",
        "email": f"{name.lower()}.glass@example.org",
        "time_zone": "Europe/London",
    }


@pytest.fixture
async def records(namespace):
    async with running(build(service_settings(RecordsSettings, namespace))) as client:
        yield client


async def test_a_clinician_breaks_the_glass_to_read_beyond_their_patient_and_it_is_reported(records):
    own = (await records.post("/patients", json=patient("Olive"))).json()["id"]
    other = (await records.post("/patients", json=patient("Otto"))).json()["id"]
    # A clinician's app launched for one patient (the SMART patient context).
    clinician = bearer("clinician", subject="dr-glass", patient_id=own)

    assert (await records.get(f"/patients/{own}", headers=clinician)).status_code == 200
    assert (await records.get(f"/patients/{other}", headers=clinician)).status_code == 403
    # ETREAT without a reason, or a reason without ETREAT, is not enough.
    no_reason = {"X-Purpose-Of-Use": "ETREAT"}
    assert (await records.get(f"/patients/{other}", headers=clinician | no_reason)).status_code == 403
    wrong_purpose = EMERGENCY | {"X-Purpose-Of-Use": "TREAT"}
    assert (await records.get(f"/patients/{other}", headers=clinician | wrong_purpose)).status_code == 403

    r = await records.get(f"/patients/{other}", headers=clinician | EMERGENCY)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == other

    report = (await records.get("/audit/break-glass", headers=ADMIN)).json()
    assert [(e["actor"], e["patient_id"], e["purpose"], e["allowed"], e["reason"]) for e in report] == [
        ("dr-glass", other, "ETREAT", True, EMERGENCY["X-Break-Glass-Reason"])
    ]
    # The refused attempts stay in the trail, not in the break-glass report.
    trail = (await records.get("/audit", params={"patient_id": other, "actor": "dr-glass"}, headers=ADMIN)).json()
    assert sorted((e["allowed"], e["break_glass"]) for e in trail) == [(False, False)] * 3 + [(True, True)]
    # Only administrators see the report.
    assert (await records.get("/audit/break-glass", headers=bearer("coordinator"))).status_code == 403


async def test_only_clinicians_break_the_glass_and_only_to_read(records):
    own = (await records.post("/patients", json=patient("Pia"))).json()["id"]
    other = (await records.post("/patients", json=patient("Paul"))).json()["id"]
    as_patient = bearer("patient", subject="pia", patient_id=own)
    assert (await records.get(f"/patients/{other}", headers=as_patient | EMERGENCY)).status_code == 403

    clinician = bearer("clinician", subject="dr-write", patient_id=own)
    penicillin = {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "7980", "display": "penicillin G"}
    allergy = {"substance": penicillin}
    r = await records.post(f"/patients/{other}/allergies", json=allergy, headers=clinician | EMERGENCY)
    assert r.status_code == 403, r.text
    # The same write for their own patient goes through: the refusal above is the patient, not the body.
    r = await records.post(f"/patients/{own}/allergies", json=allergy, headers=clinician)
    assert r.status_code == 201, r.text
    listed = await records.get(f"/patients/{other}/allergies", headers=bearer("coordinator"))
    assert listed.status_code == 200 and listed.json() == []
    assert (await records.get("/audit/break-glass", headers=ADMIN)).json() == []
