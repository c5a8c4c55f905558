"""A reschedule that insurance follows, the four services as separate processes over the real
broker: a visit booked on the last day its coverage runs, moved to the next day, needs insurance
action (insurance's check is re-decided for the new date); moved back, it no longer does."""

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from caremesh_testing import eventually

pytestmark = pytest.mark.e2e
CLINIC = ZoneInfo("Europe/Amsterdam")  # the zone of the suite's locations


async def covered(suite, patient_id: str) -> str:
    """A coverage on a plan of its own, open-ended for now; its id."""
    payer = await suite.insurance.post("/payers", json={"name": f"Payer {uuid.uuid4().hex[:6]}"})
    assert payer.status_code == 201, payer.text
    plan = await suite.insurance.post(
        "/plans", json={"payer_id": payer.json()["id"], "name": "Basic", "services": [{"code": "99213"}]}
    )
    assert plan.status_code == 201, plan.text
    r = await suite.insurance.post(
        "/coverages",
        json={
            "patient_id": patient_id,
            "plan_id": plan.json()["id"],
            "member_id": "M-15",
            "period_start": str(date.today() - timedelta(days=1)),
        },
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def local_day(appointment: dict) -> date:
    return datetime.fromisoformat(appointment["start"]).astimezone(CLINIC).date()


async def check_on(suite, appointment_id: str, day: date) -> dict:
    """Insurance's check once it stands on ``day``."""

    async def moved():
        r = await suite.insurance.get(f"/eligibility-checks/{appointment_id}")
        return r.json() if r.status_code == 200 and r.json()["service_date"] == str(day) else None

    return await eventually(moved, timeout=60, what=f"insurance's check on {day}")


async def needs_action(suite, appointment_id: str, flagged: bool) -> dict:
    async def settled():
        appt = (await suite.scheduling.get(f"/appointments/{appointment_id}")).json()
        return appt if (appt["needs_action"] is not None) is flagged else None

    return await eventually(settled, timeout=60, what=f"needs_action {'set' if flagged else 'cleared'}")


async def test_a_visit_moved_past_its_coverage_needs_insurance_action_and_moved_back_does_not(suite):
    patient_id, _ = await suite.new_patient("Tess")
    coverage_id = await covered(suite, patient_id)
    [first] = await suite.slots(1, starts_in=timedelta(days=3, hours=2))
    [later] = await suite.slots(1, starts_in=timedelta(days=4, hours=2))
    r = await suite.request(patient_id, first)
    assert r.status_code == 201, r.text
    appointment_id = r.json()["id"]
    assert await suite.settled_status(appointment_id) == "booked"
    appt = (await suite.scheduling.get(f"/appointments/{appointment_id}")).json()
    day = local_day(appt)

    # The coverage now ends on the visit's day: still covered there, so nothing changes.
    r = await suite.insurance.post(f"/coverages/{coverage_id}/end", json={"period_end": str(day), "version": 1})
    assert r.status_code == 200, r.text

    async def rechecked():
        h = (await suite.insurance.get(f"/eligibility-checks/{appointment_id}/history")).json()
        return h if len(h) >= 2 else None

    history = await eventually(rechecked, timeout=60, what="the re-check on the coverage's end")
    assert [x["decision"]["outcome"] for x in history] == ["confirmed", "confirmed"]

    # Moved to the next day, past the coverage: insurance's answer changes, and scheduling hears it.
    r = await suite.scheduling.post(f"/appointments/{appointment_id}/reschedule", json={"slot_id": later})
    assert r.status_code == 200, r.text
    new_day = local_day(r.json())
    assert new_day > day
    check = await check_on(suite, appointment_id, new_day)
    assert (check["decision"]["outcome"], check["decision"]["reason"]) == ("denied", "coverage_inactive")
    flagged = await needs_action(suite, appointment_id, flagged=True)
    assert (flagged["status"], flagged["needs_action"]["reason"]) == ("booked", "eligibility_denied")
    assert flagged["needs_action"]["reason_code"] == "coverage_inactive"

    # Moved back onto a covered day: confirmed again, and the flag goes.
    r = await suite.scheduling.post(f"/appointments/{appointment_id}/reschedule", json={"slot_id": first})
    assert r.status_code == 200, r.text
    check = await check_on(suite, appointment_id, day)
    assert check["decision"]["outcome"] == "confirmed"
    await needs_action(suite, appointment_id, flagged=False)
    history = (await suite.insurance.get(f"/eligibility-checks/{appointment_id}/history")).json()
    assert [(x["trigger"], x["decision"]["outcome"]) for x in history][-2:] == [
        ("rescheduled", "denied"),
        ("rescheduled", "confirmed"),
    ]
