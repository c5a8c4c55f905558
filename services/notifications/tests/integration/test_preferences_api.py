"""Preferences and templates over HTTP: who may read and change what, the audit trail, previews."""

import uuid

import pytest

from caremesh_contracts import PatientRegistered, RelatedPersonAdded
from caremesh_notifications.app import build
from caremesh_notifications.settings import NotificationsSettings
from caremesh_testing import bearer, eventually, publish_event, running, service_settings


@pytest.fixture
async def service(namespace):
    async with running(build(service_settings(NotificationsSettings, namespace))) as client:
        yield client


async def known_patient(client, amqp_url, namespace) -> tuple[PatientRegistered, RelatedPersonAdded]:
    pid = str(uuid.uuid4())
    p = PatientRegistered(
        patient_id=pid,
        given_name="Ada",
        email=f"ada-{pid[:8]}@example.org",
        phone="+15555550123",
        time_zone="Europe/Paris",
    )
    m = RelatedPersonAdded(
        related_person_id=str(uuid.uuid4()),
        patient_id=pid,
        given_name="Ruth",
        relationship="DAU",
        email=f"ruth-{pid[:8]}@example.org",
        time_zone="America/Chicago",
    )
    await publish_event(amqp_url, namespace, p)
    await publish_event(amqp_url, namespace, m)
    uc = client._transport.app.state.usecases
    await eventually(lambda: uc.recipients.family.find(m.related_person_id), what="family member stored")
    await eventually(lambda: uc.recipients.contacts.find(pid), what="contact stored")
    return p, m


async def test_preferences_default_then_change_with_versions_and_are_audited(service, amqp_url, namespace):
    p, _ = await known_patient(service, amqp_url, namespace)
    url = f"/patients/{p.patient_id}/preferences"
    got = (await service.get(url)).json()
    assert (got["version"], got["channels"], got["language"], got["quiet_hours"], got["opt_outs"]) == (
        0,
        ["email", "sms"],
        "en",
        None,
        [],
    )
    assert got["usable_channels"] == ["email"]  # SMS is not configured in this deployment
    assert got["recipient"] == "patient"

    me = bearer("patient", subject="ada", patient_id=p.patient_id)
    body = {
        "channels": ["sms", "email"],
        "language": "es",
        "quiet_hours": {"start": "21:30", "end": "08:00"},
        "opt_outs": ["surveys"],
        "version": 0,
    }
    r = await service.put(url, json=body, headers=me)
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["updated_by"], r.json()["quiet_hours"]) == (
        1,
        "ada",
        {"start": "21:30", "end": "08:00"},
    )
    stale = await service.put(url, json=body | {"language": "en"}, headers=me)
    assert stale.status_code == 409 and stale.json()["current_version"] == 1
    assert (await service.put(url, json={"language": "en"})).json()["version"] == 2  # a coordinator, no version

    trail = (await service.get("/audit", params={"patient_id": p.patient_id}, headers=bearer("admin"))).json()
    seen = {(e["actor"], e["action"], e["resource_type"], e["allowed"]) for e in trail}
    assert {
        ("test-user", "read", "CommunicationPreferences", True),
        ("ada", "update", "CommunicationPreferences", True),
        ("test-user", "update", "CommunicationPreferences", True),
    } <= seen


async def test_only_the_patient_themself_or_a_coordinator_may_change_them(service, amqp_url, namespace):
    p, _ = await known_patient(service, amqp_url, namespace)
    url = f"/patients/{p.patient_id}/preferences"
    other = bearer("patient", subject="mallory", patient_id="someone-else")
    assert (await service.get(url, headers=other)).status_code == 403
    assert (await service.put(url, json={}, headers=other)).status_code == 403
    assert (await service.put(url, json={}, headers=bearer("clinician"))).status_code == 403
    assert (await service.get(url, headers=bearer("clinician"))).status_code == 200
    denied = (await service.get("/audit", params={"patient_id": p.patient_id}, headers=bearer("admin"))).json()
    assert any(e["actor"] == "mallory" and not e["allowed"] for e in denied)


async def test_family_preferences_belong_to_their_patient(service, amqp_url, namespace):
    p, m = await known_patient(service, amqp_url, namespace)
    url = f"/patients/{p.patient_id}/related-persons/{m.related_person_id}/preferences"
    me = bearer("patient", subject="ada", patient_id=p.patient_id)
    r = await service.put(url, json={"channels": ["email"], "opt_outs": ["appointments"]}, headers=me)
    assert r.status_code == 200 and r.json()["recipient"] == "related_person"
    assert (await service.get(url)).json()["opt_outs"] == ["appointments"]
    wrong_patient = f"/patients/{uuid.uuid4()}/related-persons/{m.related_person_id}/preferences"
    assert (await service.get(wrong_patient)).status_code == 404
    assert (await service.get(f"/patients/{uuid.uuid4()}/preferences")).status_code == 404


async def test_invalid_preferences_name_the_field(service, amqp_url, namespace):
    p, _ = await known_patient(service, amqp_url, namespace)
    r = await service.put(
        f"/patients/{p.patient_id}/preferences",
        json={"channels": ["pigeon"], "quiet_hours": {"start": "22:00", "end": "22:00"}, "time_zone": "Nowhere/Land"},
    )
    assert r.status_code == 422
    assert {"channels.0", "quiet_hours", "time_zone"} <= {e["field"] for e in r.json()["errors"]}


async def test_templates_are_listed_and_previewed(service):
    kinds = {k["kind"]: k for k in (await service.get("/templates")).json()}
    booked = kinds["appointment.booked"]
    assert booked["channels"]["email"] == {"en": [1], "es": [1]} and booked["required"] is False
    assert booked["variables"]["practitioner_name"] == "care" and kinds["appointment.cancelled"]["required"] is True
    assert kinds["family.appointment.booked"]["consent"] == "appointments"

    sample = (await service.post("/templates/appointment.booked/preview", json={"channel": "email"})).json()
    assert sample["subject"] == "Your appointment is confirmed" and "<p>Hello Amara,</p>" in sample["html"]
    es = (await service.post("/templates/appointment.booked/preview", json={"channel": "sms", "language": "es"})).json()
    assert es["language"] == "es" and es["text"].startswith("Hola Amara")
    mine = await service.post(
        "/templates/appointment.no_show/preview",
        json={"channel": "sms", "variables": {"recipient_name": "Bo", "when": "tomorrow", "reference": "R-1"}},
    )
    assert mine.json()["text"].startswith("Hi Bo, we missed you at your appointment on tomorrow.")

    missing = await service.post(
        "/templates/appointment.no_show/preview", json={"channel": "sms", "variables": {"recipient_name": "Bo"}}
    )
    assert missing.status_code == 422 and "'when' is undefined" in missing.json()["detail"]
    unknown_var = await service.post(
        "/templates/appointment.no_show/preview", json={"channel": "sms", "variables": {"diagnosis": "x"}}
    )
    assert unknown_var.status_code == 422 and unknown_var.json()["field"] == "variables"
    assert (await service.post("/templates/nope/preview", json={"channel": "sms"})).status_code == 404
    assert (
        await service.post("/templates/appointment.booked/preview", json={"channel": "sms", "version": 9})
    ).status_code == 404
    assert (await service.get("/templates", headers=bearer("patient", patient_id="p"))).status_code == 403


async def test_the_sms_callback_is_off_without_sms(service):
    assert (await service.post("/callbacks/sms/status", data={"MessageSid": "SM1"})).status_code == 404
