"""Templates and the availability search over HTTP, on the real broker and store."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from caremesh_contracts import CoverageChanged, CoverageRegistered
from caremesh_testing import bearer, eventually, publish_event

NY = ZoneInfo("America/New_York")
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def local(slot: dict) -> datetime:
    return datetime.fromisoformat(slot["local_start"])


async def test_templates_are_created_replaced_and_checked(scheduling, clinic):
    c = await clinic(scheduling, rooms=("R1", "R2"))
    path = f"/practitioners/{c.practitioner['id']}/templates/{c.location['id']}"
    got = (await scheduling.get(path)).json()
    assert got["version"] == 1 and got["time_zone"] == "America/Chicago" and got["weekly"][0]["start"] == "00:00"
    body = {
        "service_type_ids": [c.service["id"]],
        "buffer_after_minutes": 10,
        "version": 1,
        "weekly": [{"day": "mon", "start": "09:00", "end": "12:00", "room": "R2"}],
        "exceptions": [{"start_date": "2030-12-24", "end_date": "2030-12-26", "reason": "holiday"}],
    }
    r = await scheduling.put(path, json=body)
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["conflicts"] == [], r.text
    assert r.json()["exceptions"][0]["end_date"] == "2030-12-26"
    stale = await scheduling.put(path, json=body)
    assert stale.status_code == 409 and stale.json()["current_version"] == 2 and stale.json()["field"] == "version"
    listed = (await scheduling.get(f"/practitioners/{c.practitioner['id']}/templates")).json()
    assert [t["version"] for t in listed] == [2]

    async def problem(change: dict, status: int = 422) -> dict:
        r = await scheduling.put(path, json={k: v for k, v in body.items() if k != "version"} | change)
        assert r.status_code == status and r.headers["content-type"].startswith("application/problem+json"), r.text
        return r.json()

    assert (await problem({"weekly": [{"day": "mon", "start": "09:00", "end": "10:00", "room": "R9"}]}))[
        "field"
    ] == "weekly.0.room"
    overlap = [
        {"day": "tue", "start": "09:00", "end": "12:00", "room": "R1"},
        {"day": "tue", "start": "11:00", "end": "13:00", "room": "R2"},
    ]
    assert (await problem({"weekly": overlap}))["field"] == "weekly.1.start"
    assert (await problem({"service_type_ids": ["nope"]}, 404))["field"] == "service_type_ids.0"
    off_step = await problem({"weekly": [{"day": "mon", "start": "09:07", "end": "10:00", "room": "R1"}]})
    assert off_step["errors"][0]["field"] == "weekly.0.start"
    assert (await problem({"buffer_before_minutes": 3}))["errors"][0]["field"] == "buffer_before_minutes"
    r = await scheduling.put(f"/practitioners/nobody/templates/{c.location['id']}", json=body)
    assert r.status_code == 404
    # Only coordinators change templates; every route wants a token.
    assert (await scheduling.put(path, json=body, headers=bearer("clinician"))).status_code == 403
    assert (await scheduling.get("/availability", headers={"Authorization": ""})).status_code == 401
    assert (await scheduling.post("/locations", json={}, headers=bearer("patient", patient_id="p"))).status_code == 403


async def test_locations_and_service_types_are_checked_and_listed(scheduling):
    r = await scheduling.post("/locations", json={"name": "X", "time_zone": "Mars/Base", "rooms": [{"id": "R1"}]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "time_zone"
    r = await scheduling.post("/service-types", json={"code": "9921", "name": "X", "duration_minutes": 30})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "code"
    loc = (
        await scheduling.post(
            "/locations", json={"name": "Y", "time_zone": "Asia/Tokyo", "rooms": [{"id": "R1", "name": "Room one"}]}
        )
    ).json()
    svc = (
        await scheduling.post("/service-types", json={"code": "G0438", "name": "AWV", "duration_minutes": 45})
    ).json()
    assert loc in (await scheduling.get("/locations", headers=bearer("patient", patient_id="p"))).json()
    assert svc in (await scheduling.get("/service-types")).json()
    assert (await scheduling.get(f"/locations/{loc['id']}")).json() == loc
    assert (await scheduling.get("/locations/none")).status_code == 404


async def test_availability_pages_with_a_cursor_and_filters_local_time_across_dst(scheduling, clinic):
    c = await clinic(scheduling, tz="America/New_York", start="09:00", end="12:00", days=WEEKDAYS)
    # The week of the March 2027 change in New York (Sunday 14 March).
    week = {"from": "2027-03-11", "to": "2027-03-17"}
    whole = await c.slots(**week)
    assert len(whole) == 5 * 6 and {local(s).strftime("%H:%M") for s in whole} == {
        "09:00",
        "09:30",
        "10:00",
        "10:30",
        "11:00",
        "11:30",
    }
    assert {datetime.fromisoformat(s["start"]).hour for s in whole if local(s).hour == 9} == {14, 13}  # EST, EDT
    pages, cursor = [], None
    while True:
        r = await scheduling.get(
            "/availability",
            params={"practitioner_id": c.practitioner["id"], "limit": 7, **week}
            | ({"cursor": cursor} if cursor else {}),
        )
        assert r.status_code == 200, r.text
        pages += r.json()["items"]
        if (cursor := r.json()["next_cursor"]) is None:
            break
    assert [s["slot_id"] for s in pages] == [s["slot_id"] for s in whole]
    late = await c.slots(**week, time_from="10:30", time_to="11:30")
    assert {local(s).strftime("%H:%M") for s in late} == {"10:30", "11:00"} and len(late) == 10
    r = await scheduling.get("/availability", params={"from": "2027-03-01", "to": "2027-06-30"})
    assert r.status_code == 422 and r.json()["field"] == "to"
    r = await scheduling.get("/availability", params={"cursor": "nonsense"})
    assert r.status_code == 422 and r.json()["field"] == "cursor"


async def test_booked_time_leaves_the_search_and_a_cancellation_brings_it_back(scheduling, clinic):
    c = await clinic(scheduling, buffer_after_minutes=10, slot_interval_minutes=10)
    slot = await c.first_slot(datetime.now(UTC) + timedelta(days=2))
    # The search takes the location's days, not UTC's: the slot's own and the next (for the +40).
    local_day = datetime.fromisoformat(slot["start"]).astimezone(ZoneInfo(c.location["time_zone"])).date()
    day = {"from": str(local_day), "to": str(local_day + timedelta(days=1))}
    appt = (await c.book(slot["slot_id"])).json()
    start = datetime.fromisoformat(slot["start"])
    starts = {datetime.fromisoformat(s["start"]) for s in await c.slots(**day)}
    # 30 minutes plus 10 after: nothing starts from 40 minutes before to 40 minutes after.
    assert not {start + timedelta(minutes=m) for m in range(-30, 40, 10)} & starts
    assert start + timedelta(minutes=40) in starts
    await scheduling.post(f"/appointments/{appt['id']}/cancel", json={"reason_code": "pat"})
    assert slot["slot_id"] in {s["slot_id"] for s in await c.slots(**day)}


async def test_a_template_change_keeps_bookings_and_reports_those_it_no_longer_covers(scheduling, clinic):
    c = await clinic(scheduling, tz="America/New_York")
    day = datetime.now(NY).date() + timedelta(days=4)
    morning = await c.first_slot(datetime.combine(day, datetime.min.time().replace(hour=9), NY))
    afternoon = await c.first_slot(datetime.combine(day, datetime.min.time().replace(hour=15), NY))
    a1 = (await c.book(morning["slot_id"], "p1")).json()
    a2 = (await c.book(afternoon["slot_id"], "p2")).json()
    path = f"/practitioners/{c.practitioner['id']}/templates/{c.location['id']}"
    mornings = {
        "service_type_ids": [c.service["id"]],
        "weekly": [
            {"day": d, "start": "08:00", "end": "12:00", "room": "R1"}
            for d in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        ],
    }
    r = await scheduling.put(path, json=mornings)
    assert r.status_code == 200, r.text
    assert [(x["appointment_id"], x["reason"]) for x in r.json()["conflicts"]] == [(a2["id"], "outside_availability")]
    off = mornings | {"exceptions": [{"start_date": str(day), "reason": "leave"}]}
    conflicts = (await scheduling.put(path, json=off)).json()["conflicts"]
    assert [x["appointment_id"] for x in conflicts] == [a1["id"], a2["id"]]
    other = (
        await scheduling.post("/service-types", json={"code": "99214", "name": "Visit", "duration_minutes": 30})
    ).json()
    conflicts = (await scheduling.put(path, json=mornings | {"service_type_ids": [other["id"]]})).json()["conflicts"]
    assert {x["reason"] for x in conflicts} == {"service_not_offered"}
    # Nothing moved: both appointments are as they were booked.
    for appt in (a1, a2):
        now = (await scheduling.get(f"/appointments/{appt['id']}")).json()
        assert (now["status"], now["start"]) == ("pending", appt["start"])


async def test_the_search_for_a_patient_follows_their_coverage_from_events(scheduling, clinic, namespace, amqp_url):
    c = await clinic(scheduling, tz="UTC", start="09:00", end="11:00")
    today = datetime.now(UTC).date()
    week = {"from": str(today + timedelta(days=1)), "to": str(today + timedelta(days=7))}
    assert (await c.slots(**week, patient_id="p-cov")) == []  # nothing known of their coverage yet
    await publish_event(
        amqp_url,
        namespace,
        CoverageRegistered(
            coverage_id="cov-1", patient_id="p-cov", payer="Acme", period_start=today + timedelta(days=4)
        ),
    )

    async def from_day_four():
        days = {s["start"][:10] for s in await c.slots(**week, patient_id="p-cov")}
        return days and min(days) == str(today + timedelta(days=4))

    await eventually(from_day_four, what="coverage applied")
    r = await scheduling.get("/availability", params={**week, "patient_id": "p-cov"})
    assert r.json()["coverage"]["coverages"][0]["payer"] == "Acme"
    # A later snapshot says the plan covers 99214 only: this clinic's 99213 is not offered.
    await publish_event(
        amqp_url,
        namespace,
        CoverageChanged(
            coverage_id="cov-1",
            patient_id="p-cov",
            coverage_version=2,
            plan_id="plan",
            status="active",
            period_start=today,
            service_codes=["99214"],
            prior_authorization_codes=[],
        ),
    )

    async def none_left():
        return await c.slots(**week, patient_id="p-cov") == []

    await eventually(none_left, what="service codes applied")
    assert len(await c.slots(**week)) == 7 * 4  # without a patient, everything
    # Patients search only for themselves, and staff reads are audited.
    own = bearer("patient", subject="pc", patient_id="p-cov")
    assert (
        await scheduling.get("/availability", params={**week, "patient_id": "p-cov"}, headers=own)
    ).status_code == 200
    other = await scheduling.get(
        "/availability", params={**week, "patient_id": "p-cov"}, headers=bearer("patient", patient_id="someone")
    )
    assert other.status_code == 403
    trail = (await scheduling.get("/audit", params={"patient_id": "p-cov"}, headers=bearer("admin"))).json()
    assert {("read", "Slot", True), ("read", "Slot", False)} <= {
        (e["action"], e["resource_type"], e["allowed"]) for e in trail
    }


async def test_a_shared_room_and_the_patients_own_time_cannot_be_double_booked(scheduling, clinic):
    a = await clinic(scheduling, tz="Europe/Berlin", name="Dr. A")
    b = await clinic(scheduling, name="Dr. B", location=a.location)  # same room R1
    when = datetime.combine(date.today() + timedelta(days=5), datetime.min.time(), UTC) + timedelta(hours=10)
    slot_a, slot_b = await a.first_slot(when), await b.first_slot(when)
    assert slot_a["start"] == slot_b["start"]
    assert (await a.book(slot_a["slot_id"], "p1")).status_code == 201
    r = await b.book(slot_b["slot_id"], "p2")
    assert r.status_code == 409 and (r.json()["resource"], r.json()["field"]) == ("room", "slot_id")
    # The same patient elsewhere, overlapping by 15 minutes.
    c = await clinic(scheduling, tz="Asia/Kolkata", name="Dr. C", slot_interval_minutes=15)
    overlapping = await c.first_slot(datetime.fromisoformat(slot_a["start"]) + timedelta(minutes=15))
    r = await c.book(overlapping["slot_id"], "p1")
    assert r.status_code == 409 and (r.json()["resource"], r.json()["field"]) == ("patient", "patient_id")
    assert (await c.book(overlapping["slot_id"], "p3")).status_code == 201
