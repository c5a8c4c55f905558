"""Recurring series over HTTP, on the real broker and store."""

from datetime import UTC, datetime, timedelta


async def weekly(client, c, first: dict, count: int) -> dict:
    r = await client.post(
        "/series",
        json={"patient_id": "p-s", "slot_id": first["slot_id"], "recurrence": {"frequency": "weekly", "count": count}},
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_weekly_series_reports_a_conflict_per_occurrence(scheduling, clinic):
    c = await clinic(scheduling, name="Dr. Weekly")
    first = await c.first_slot(datetime.now(UTC) + timedelta(days=1))
    # Someone already holds the third week's time (same local time: occurrences keep the wall clock).
    local = datetime.fromisoformat(first["local_start"]) + timedelta(weeks=2)
    near = await c.slots(**{"from": str(local.date()), "to": str(local.date())})
    taken = [
        s for s in near if datetime.fromisoformat(s["local_start"]).replace(tzinfo=None) == local.replace(tzinfo=None)
    ]
    assert (await c.book(taken[0]["slot_id"], "p-other")).status_code == 201
    series = await weekly(scheduling, c, first, 4)
    occ = series["occurrences"]
    assert [o["index"] for o in occ] == [0, 1, 2, 3]
    assert [o["appointment_id"] is not None for o in occ] == [True, True, False, True]
    assert "already booked" in occ[2]["conflict"]
    for o in occ[:2]:
        appt = (await scheduling.get(f"/appointments/{o['appointment_id']}")).json()
        assert appt["patient_id"] == "p-s" and appt["status"] == "pending"
    assert (await scheduling.get(f"/series/{series['id']}")).json()["occurrences"] == occ
    [mine] = (await scheduling.get("/series", params={"patient_id": "p-s"})).json()
    assert mine["id"] == series["id"]


async def test_cancel_one_following_and_all(scheduling, clinic):
    c = await clinic(scheduling, name="Dr. Daily")
    first = await c.first_slot(datetime.now(UTC) + timedelta(days=1))
    r = await scheduling.post(
        "/series",
        json={"patient_id": "p-s", "slot_id": first["slot_id"], "recurrence": {"frequency": "daily", "count": 5}},
    )
    series = r.json()
    ids = [o["appointment_id"] for o in series["occurrences"]]
    assert all(ids)

    async def statuses():
        return [(await scheduling.get(f"/appointments/{i}")).json()["status"] for i in ids]

    r = await scheduling.post(
        f"/series/{series['id']}/cancel", json={"scope": "one", "appointment_id": ids[1], "reason_code": "pat"}
    )
    assert r.status_code == 200 and r.json()["outcomes"] == {ids[1]: "cancelled"}
    r = await scheduling.post(
        f"/series/{series['id']}/cancel", json={"scope": "following", "appointment_id": ids[3], "reason_code": "pat"}
    )
    assert set(r.json()["outcomes"]) == {ids[3], ids[4]}
    assert await statuses() == ["pending", "cancelled", "pending", "cancelled", "cancelled"]
    r = await scheduling.post(f"/series/{series['id']}/cancel", json={"scope": "all", "reason_code": "prov"})
    assert await statuses() == ["cancelled"] * 5
    r = await scheduling.post(f"/series/{series['id']}/cancel", json={"scope": "one", "reason_code": "pat"})
    assert r.status_code == 422 and r.json()["field"] == "appointment_id"
