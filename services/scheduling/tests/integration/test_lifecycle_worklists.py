"""Coordinators' appointment worklists: filters, paging, the location's day, and the audit."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from caremesh_contracts import EligibilityConfirmed
from caremesh_testing import bearer, eventually, publish_event

ZONE = "Pacific/Kiritimati"  # UTC+14: its day is not the UTC day


async def test_waiting_on_insurance_lists_holds_and_flags_in_start_order(scheduling, clinic, namespace, amqp_url):
    c = await clinic(scheduling)
    slots = [await c.first_slot(datetime.now(UTC) + timedelta(days=d)) for d in (2, 3, 4)]
    ids = [(await c.book(s["slot_id"], f"wp{i}")).json()["id"] for i, s in enumerate(slots)]
    await publish_event(
        amqp_url, namespace, EligibilityConfirmed(appointment_id=ids[1], patient_id="wp1", coverage_id="c1")
    )

    async def booked():
        return (await scheduling.get(f"/appointments/{ids[1]}")).json()["status"] == "booked"

    await eventually(booked, what="booked")
    params = {"practitioner_id": c.practitioner["id"]}
    r = await scheduling.get("/worklists/appointments/insurance", params=params)
    assert [x["id"] for x in r.json()] == [ids[0], ids[2]]  # the booked one needs nothing
    r = await scheduling.get("/worklists/appointments/insurance", params=params | {"limit": 1, "offset": 1})
    assert [x["id"] for x in r.json()] == [ids[2]]
    assert (await scheduling.get("/worklists/appointments/insurance", headers=bearer("clinician"))).status_code == 403
    audit = (await scheduling.get("/audit", params={"patient_id": "wp2"}, headers=bearer("admin"))).json()
    assert any(e["route"] == "GET /worklists/appointments/insurance" for e in audit)


async def test_the_day_schedule_is_the_locations_day(scheduling, clinic):
    c = await clinic(scheduling, tz=ZONE)
    slot = await c.first_slot(datetime.now(UTC) + timedelta(days=2))
    appt = (await c.book(slot["slot_id"], "dp1")).json()
    local_day = datetime.fromisoformat(slot["start"]).astimezone(ZoneInfo(ZONE)).date()
    for by in ({"location_id": c.location["id"]}, {"practitioner_id": c.practitioner["id"]}):
        r = await scheduling.get("/worklists/appointments/day", params=by | {"date": str(local_day)})
        assert r.status_code == 200, r.text
        assert r.json()["date"] == str(local_day) and [x["id"] for x in r.json()["items"]] == [appt["id"]]
        r = await scheduling.get("/worklists/appointments/day", params=by | {"date": str(local_day + timedelta(1))})
        assert r.json()["items"] == []
    today = datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date()
    r = await scheduling.get("/worklists/appointments/day", params={"location_id": c.location["id"]})
    assert r.json()["date"] == str(today)
    await scheduling.post(f"/appointments/{appt['id']}/cancel", json={"reason_code": "pat"})
    r = await scheduling.get(
        "/worklists/appointments/day", params={"location_id": c.location["id"], "date": str(local_day)}
    )
    assert r.json()["items"] == []
    r = await scheduling.get("/worklists/appointments/day")
    assert r.status_code == 422 and r.json()["field"] == "practitioner_id"
