"""A booking across all four services, run as separate processes over the real broker.

The tests run in file order: the last one replays every event the earlier ones produced.
"""

import asyncio
import signal
import time
import uuid
from datetime import datetime, timedelta

import pytest
from cloudevents.core.bindings.rabbitmq import RabbitMQMessage, from_rabbitmq_event

from caremesh_contracts import (
    AppointmentAwaitingAuthorization,
    AppointmentHoldExpired,
    AppointmentRescheduled,
    EligibilityConfirmed,
    all_event_types,
    by_type,
)
from caremesh_kit.bus import REASON_HEADER, read_event_log
from caremesh_testing import (
    AMQP_URL,
    bearer,
    drain_queue,
    event_headers,
    eventually,
    mailbox,
    mailbox_with,
    publish_many,
    publish_raw,
    wait_settled,
)

from .conftest import Flow

pytestmark = pytest.mark.e2e


async def book(suite, covered: bool = True, starts_in: timedelta | None = None, interval: int | None = None) -> Flow:
    patient_id, email = await suite.new_patient()
    await suite.cover(patient_id, ["99213"] if covered else ["99999"])
    [slot] = await suite.slots(1, starts_in, interval)
    r = await suite.request(patient_id, slot)
    assert r.status_code == 201, r.text
    flow = Flow(patient_id, email, r.json()["id"], slot, "booked" if covered else "declined")
    suite.flows.append(flow)
    return flow


async def assert_final_state(suite, flow: Flow) -> None:
    """The same facts, read from every service and the mailbox."""
    assert await suite.status(flow.appointment_id) == flow.expected
    declined = flow.expected == "declined"
    check = (await suite.insurance.get(f"/eligibility-checks/{flow.appointment_id}")).json()
    assert check["decision"]["outcome"] == ("denied" if declined else "confirmed")
    kinds = {
        "declined": ["appointment.declined"],
        "cancelled": ["appointment.booked", "appointment.cancelled"],
        "fulfilled": ["appointment.booked", "encounter"],
        "no_show": ["appointment.booked", "appointment.no_show"],
    }.get(flow.expected, ["appointment.booked"])
    timeline = (await suite.records.get(f"/patients/{flow.patient_id}/timeline")).json()
    # Records also notes the coverage and insurance's decision on the timeline.
    decisions = {"coverage.registered", "eligibility.confirmed", "eligibility.denied"}
    visits = sorted((e["appointment_id"], e["kind"]) for e in timeline if e["kind"] not in decisions)
    assert visits == [(flow.appointment_id, k) for k in kinds]
    decided = "eligibility.denied" if declined else "eligibility.confirmed"
    assert (flow.appointment_id, decided) in {(e["appointment_id"], e["kind"]) for e in timeline}
    encounters = (await suite.records.get(f"/patients/{flow.patient_id}/encounters")).json()
    assert [e["id"] for e in encounters] == ([flow.appointment_id] if flow.expected == "fulfilled" else [])
    templates = {
        "declined": ["appointment.declined"],
        "cancelled": ["appointment.booked", "appointment.cancelled"],
        "no_show": ["appointment.booked", "appointment.no_show"],
        "fulfilled": ["appointment.booked", "survey.invitation"],
    }.get(flow.expected, ["appointment.booked"])
    messages = (await suite.notifications.get("/messages", params={"patient_id": flow.patient_id})).json()
    messages = [m for m in messages if not m["template"].endswith("appointment.reminder")]  # held for later
    assert sorted((m["appointment_id"], m["template"], m["status"]) for m in messages) == [
        (flow.appointment_id, t, "sent") for t in sorted(templates)
    ]
    mails = await mailbox(flow.email)
    assert len(mails) == len(templates), f"{len(mails)} emails to {flow.email}"


@pytest.fixture(scope="session")
async def missed(suite) -> Flow:
    """A booking that starts within minutes, made as the run begins: slots lie on a five-minute
    grid at best, so the lifecycle test finds it started instead of waiting for it."""
    return await book(suite, starts_in=timedelta(seconds=30), interval=5)


async def test_happy_path_books_and_informs_everyone(suite, missed):
    flow = await book(suite)
    assert await suite.settled_status(flow.appointment_id) == "booked"
    [mail] = await suite.emails(flow)
    assert mail["Subject"] == "Your appointment is confirmed"
    await eventually(lambda: _timeline_has(suite, flow), what="timeline entry")
    await assert_final_state(suite, flow)
    # Each service audited the patient data it served or changed.
    admin = bearer("admin", subject="privacy-officer")
    for service, expected in (
        ("records", {("create", "Patient"), ("read", "Timeline")}),
        ("scheduling", {("create", "Appointment"), ("read", "Appointment")}),
        ("insurance", {("create", "Coverage"), ("read", "EligibilityCheck")}),
        ("notifications", {("read", "Message")}),
    ):
        trail = (
            await suite.clients[service].get("/audit", params={"patient_id": flow.patient_id}, headers=admin)
        ).json()
        assert expected <= {(e["action"], e["resource_type"]) for e in trail}, service


async def _timeline_has(suite, flow):
    return (await suite.records.get(f"/patients/{flow.patient_id}/timeline")).json()


async def test_denial_declines_frees_the_slot_and_tells_the_patient(suite):
    flow = await book(suite, covered=False)
    assert await suite.settled_status(flow.appointment_id) == "declined"
    appt = (await suite.scheduling.get(f"/appointments/{flow.appointment_id}")).json()
    assert appt["decline_reason"] == "service_not_covered"
    [mail] = await suite.emails(flow)
    assert mail["Subject"] == "We could not confirm your appointment"
    await eventually(lambda: _timeline_has(suite, flow), what="timeline entry")
    await assert_final_state(suite, flow)
    # The slot is free again for someone else.
    other, _ = await suite.new_patient()
    assert (await suite.request(other, flow.slot_id)).status_code == 201


async def test_malformed_message_is_dead_lettered_and_the_service_keeps_working(suite):
    key = "insurance.eligibility.confirmed"
    await publish_raw(AMQP_URL, suite.namespace, key, b'{"appointment_id": ', event_headers(EligibilityConfirmed))
    await publish_raw(
        AMQP_URL,
        suite.namespace,
        key,
        b'{"appointment_id": "a", "patient_id": "p"}',
        event_headers(EligibilityConfirmed),
    )
    await publish_raw(AMQP_URL, suite.namespace, key, b"{}", {"ce-type": "org.caremesh.x.v1"})
    dlq = f"{suite.namespace}.scheduling.{key}.dlq"
    dead: list = []

    async def three():
        dead.extend(await drain_queue(AMQP_URL, dlq))
        return len(dead) >= 3

    await eventually(three, what="three dead letters")
    reasons = sorted(h[REASON_HEADER] for h, _ in dead)
    assert reasons[0].startswith("invalid body: <body>: Invalid JSON")
    assert reasons[1] == "invalid body: coverage_id: Field required"
    assert reasons[2].startswith("malformed envelope: missing CloudEvents headers: ce-id")
    assert (await suite.scheduling.get("/readyz")).status_code == 200
    flow = await book(suite)
    assert await suite.settled_status(flow.appointment_id) == "booked"
    await suite.emails(flow)


async def test_fifty_concurrent_requests_for_one_slot_book_exactly_one(suite):
    [slot] = await suite.slots(1)
    patients = [await suite.new_patient() for _ in range(50)]
    for pid, _ in patients:
        await suite.cover(pid, ["99213"])
    results = await asyncio.gather(*(suite.request(pid, slot) for pid, _ in patients))
    created = [r.json() for r in results if r.status_code == 201]
    assert len(created) == 1 and sorted(r.status_code for r in results) == [201] + [409] * 49
    winner = created[0]
    assert await suite.settled_status(winner["id"]) == "booked"
    in_store = await suite.db("scheduling")["appointments"].count_documents({"slot_id": slot})
    assert in_store == 1
    email = dict(patients)[winner["patient_id"]]
    suite.flows.append(Flow(winner["patient_id"], email, winner["id"], slot, "booked"))
    await suite.emails(suite.flows[-1])


async def test_services_killed_mid_flow_lose_and_duplicate_nothing(suite):
    cluster = suite.cluster
    cluster.kill("notifications", signal.SIGKILL)
    flows = []
    slots = await suite.slots(3)
    for slot in slots:
        patient_id, email = await suite.new_patient()
        await suite.cover(patient_id, ["99213"])
        r = await suite.request(patient_id, slot)
        flows.append(Flow(patient_id, email, r.json()["id"], slot, "booked"))
    # Mid-flow: the requests are saved, their events may or may not be out yet.
    cluster.kill("scheduling", signal.SIGKILL)
    cluster.kill("insurance", signal.SIGKILL)
    cluster.restart("insurance")
    cluster.restart("scheduling")
    for f in flows:
        assert await suite.settled_status(f.appointment_id) == "booked"
    cluster.restart("notifications")
    for f in flows:
        await suite.emails(f)
    suite.flows.extend(flows)
    await wait_settled(suite.namespace)
    for f in flows:
        await assert_final_state(suite, f)


async def test_lifecycle_cancel_visit_and_no_show_across_services(suite, missed):
    cancelled = await book(suite)
    visit = await book(suite, starts_in=timedelta(minutes=45))
    for f in (cancelled, visit, missed):
        assert await suite.settled_status(f.appointment_id) == "booked"
        await suite.emails(f)
    r = await suite.scheduling.post(f"/appointments/{cancelled.appointment_id}/cancel", json={"reason_code": "pat"})
    assert r.json()["status"] == "cancelled"
    someone_else, _ = await suite.new_patient()
    assert (await suite.request(someone_else, cancelled.slot_id)).status_code == 201  # slot freed
    assert (await suite.scheduling.post(f"/appointments/{visit.appointment_id}/check-in")).status_code == 200
    assert (await suite.scheduling.post(f"/appointments/{visit.appointment_id}/complete")).json()[
        "status"
    ] == "fulfilled"
    await asyncio.sleep(max(0.0, await _start(suite, missed) - time.time()) + 0.5)  # a no-show needs the start passed
    assert (await suite.scheduling.post(f"/appointments/{missed.appointment_id}/no-show")).json()["status"] == "no_show"
    cancelled.expected, visit.expected, missed.expected = "cancelled", "fulfilled", "no_show"
    await suite.emails(cancelled, count=2)
    await suite.emails(missed, count=2)
    await wait_settled(suite.namespace)
    for f in (cancelled, visit, missed):
        await assert_final_state(suite, f)


async def _start(suite, flow) -> float:
    appt = (await suite.scheduling.get(f"/appointments/{flow.appointment_id}")).json()
    return datetime.fromisoformat(appt["start"]).timestamp()


async def test_a_merged_duplicate_is_followed_by_notifications(suite):
    keep_id, keep_email = await suite.new_patient(given_name=f"Merle-{uuid.uuid4().hex[:6]}")
    keep = (await suite.records.get(f"/patients/{keep_id}")).json()
    dup = (
        await suite.records.post(
            "/patients",
            json={
                "given_name": keep["given_name"],
                "family_name": keep["family_name"],
                "birth_date": keep["birth_date"],
                "email": "old-address-" + keep_email,
                "time_zone": keep["time_zone"],
            },
        )
    ).json()
    assert [c["patient_id"] for c in dup["warnings"][0]["candidates"]] == [keep_id]
    r = await suite.records.post(f"/patients/{dup['id']}/merge", json={"into": keep_id})
    assert r.json()["status"] == "merged"
    # Scheduling still knows the old id; the confirmation goes to the record that stayed.
    await suite.cover(dup["id"], ["99213"])
    [slot] = await suite.slots(1)
    appt = (await suite.request(dup["id"], slot)).json()
    assert await suite.settled_status(appt["id"]) == "booked"
    mails = await eventually(lambda: mailbox(keep_email), what="email to the kept record")
    assert [m["Subject"] for m in mails] == ["Your appointment is confirmed"]
    assert await mailbox(dup["email"]) == []


async def test_family_hears_by_consent_and_a_withdrawal_stops_it(suite):
    patient_id, email = await suite.new_patient(given_name="Olga")
    me = bearer("patient", subject="olga", patient_id=patient_id)
    tag = uuid.uuid4().hex[:8]
    daughter = (
        await suite.records.post(
            f"/patients/{patient_id}/related-persons",
            headers=me,
            json={"given_name": "Dora", "relationship": "DAU", "email": f"dora-{tag}@example.org"},
        )
    ).json()
    son = (
        await suite.records.post(
            f"/patients/{patient_id}/related-persons",
            headers=me,
            json={"given_name": "Sam", "relationship": "SON", "email": f"sam-{tag}@example.org"},
        )
    ).json()
    r = await suite.records.put(
        f"/patients/{patient_id}/related-persons/{daughter['id']}/consent",
        headers=me,
        json={"categories": ["appointments"]},
    )
    assert r.status_code == 200
    await wait_settled(suite.namespace)
    await suite.cover(patient_id, ["99213"])
    [slot] = await suite.slots(1)
    appt = (await suite.request(patient_id, slot)).json()
    assert await suite.settled_status(appt["id"]) == "booked"
    [to_dora] = await eventually(lambda: mailbox(daughter["email"]), what="the daughter's confirmation")
    assert to_dora["Subject"] == "An appointment for Olga"
    await eventually(lambda: mailbox(email), what="the patient's confirmation")
    await wait_settled(suite.namespace)
    assert await mailbox(son["email"]) == []
    # The patient withdraws the daughter's consent; the cancellation reaches only the patient.
    await suite.records.put(
        f"/patients/{patient_id}/related-persons/{daughter['id']}/consent", headers=me, json={"categories": []}
    )
    await wait_settled(suite.namespace)
    await suite.scheduling.post(f"/appointments/{appt['id']}/cancel", json={"reason_code": "pat"})
    mails = await eventually(lambda: mailbox_with(email, 2), what="the patient's cancellation notice")
    assert sorted(m["Subject"] for m in mails) == [
        "Your appointment has been cancelled",
        "Your appointment is confirmed",
    ]
    await wait_settled(suite.namespace)
    assert len(await mailbox(daughter["email"])) == 1 and await mailbox(son["email"]) == []


async def test_every_event_delivered_twice_has_exactly_one_effect(suite):
    await wait_settled(suite.namespace)
    seen_types: set[str] = set()
    replay = []
    async for msg in read_event_log(AMQP_URL, suite.namespace, "first"):
        headers = {
            k: v.decode() if isinstance(v, bytes) else str(v) for k, v in msg.headers.items() if k.startswith("ce-")
        }
        if not headers.get("ce-source", "").startswith("/caremesh/") or headers["ce-source"] == "/caremesh/tests":
            continue  # the malformed test's hand-made messages
        # Every event on the wire parses with the official CloudEvents SDK.
        event = from_rabbitmq_event(RabbitMQMessage(headers=headers, content_type=msg.content_type, body=msg.body))
        contract = by_type(event.get_type())
        assert contract is not None, event.get_type()
        contract.model_validate(event.get_data())
        seen_types.add(event.get_type())
        replay.append((contract.routing_key, msg.body, headers))
    # Every type the booking flows produce was seen and replayed (the other types' producers are
    # covered by their own e2e and integration tests; all types parse with the SDK in shared/tests).
    flow_types = {
        c.ce_type()
        for c in all_event_types()
        if c.routing_key.startswith(
            (
                "scheduling.appointment.",
                "insurance.eligibility.",
                "records.patient.",
                "records.consent.",
                "records.related_person.",
                "notifications.message.",
            )
        )
    } - {c.ce_type() for c in (AppointmentRescheduled, AppointmentHoldExpired, AppointmentAwaitingAuthorization)}
    assert flow_types <= seen_types, f"not emitted: {sorted(flow_types - seen_types)}"
    assert len(replay) >= 30
    # Read to the end first: what is republished lands in the same log.
    await publish_many(AMQP_URL, suite.namespace, replay)
    await wait_settled(suite.namespace, timeout=120)
    for flow in suite.flows:
        await assert_final_state(suite, flow)
