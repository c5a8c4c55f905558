"""Quiet hours across the four services, as separate processes over the real broker and Mailpit: a
confirmation held until the patient's quiet hours end does not go out once the visit is cancelled.

The patient's quiet hours are set to end a minute or so from now (their preferences are wall-clock
minutes), so the hold passes without waiting hours; a second patient with the same quiet hours, whose
visit stands, shows that the hold did pass and the due sweep sent what was still current."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from caremesh_testing import eventually, mailbox

pytestmark = pytest.mark.e2e

ZONE = ZoneInfo("Europe/Amsterdam")  # the zone the suite's patients are registered in
MARGIN = timedelta(seconds=45)  # time enough to book both visits before the quiet hours end
CONFIRMED, CANCELLED = "Your appointment is confirmed", "Your appointment has been cancelled"


def quiet_until_soon() -> tuple[dict[str, str], datetime]:
    """Quiet hours that hold now and end at the first whole minute at least ``MARGIN`` away."""
    now = datetime.now(ZONE)
    end = (now + MARGIN + timedelta(minutes=1)).replace(second=0, microsecond=0)
    start = end - timedelta(hours=2)
    return {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}, end


async def quiet_patient(suite, name: str, quiet: dict[str, str]) -> tuple[str, str]:
    patient_id, email = await suite.new_patient(name)
    await suite.cover(patient_id, ["99213"])

    async def set_quiet_hours():  # once records' registration has reached notifications
        r = await suite.notifications.put(f"/patients/{patient_id}/preferences", json={"quiet_hours": quiet})
        return r if r.status_code == 200 else None

    await eventually(set_quiet_hours, timeout=60, what="quiet hours set")
    return patient_id, email


async def book(suite, patient_id: str) -> str:
    [slot] = await suite.slots(1)
    r = await suite.request(patient_id, slot)
    assert r.status_code == 201, r.text
    assert await suite.settled_status(r.json()["id"]) == "booked"
    return r.json()["id"]


async def confirmation(suite, patient_id: str, status: str | None = None) -> dict:
    """The patient's confirmation as notifications lists it (in ``status``, if given)."""

    async def probe():
        r = await suite.notifications.get(f"/patients/{patient_id}/messages", params={"limit": 100})
        assert r.status_code == 200, r.text
        found = [m for m in r.json()["items"] if m["template"] == "appointment.booked"]
        return found[0] if found and (status is None or found[0]["status"] == status) else None

    return await eventually(probe, timeout=150, what=f"the confirmation ({status or 'any'})")


async def subjects(address: str) -> list[str]:
    return sorted(m["Subject"] for m in await mailbox(address))


async def test_a_confirmation_held_by_quiet_hours_is_not_sent_after_a_cancellation(suite):
    quiet, ends = quiet_until_soon()
    patient_id, email = await quiet_patient(suite, "Quinn", quiet)
    control_id, control_email = await quiet_patient(suite, "Coral", quiet)
    appointment_id = await book(suite, patient_id)
    await book(suite, control_id)

    held = await confirmation(suite, patient_id, "queued")
    assert datetime.fromisoformat(held["not_before"]) == ends
    assert (await confirmation(suite, control_id, "queued"))["not_before"] == held["not_before"]
    assert datetime.now(ZONE) < ends, "the visits took longer to book than the margin allows"

    r = await suite.scheduling.post(f"/appointments/{appointment_id}/cancel", json={"reason_code": "pat"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    # The cancellation must reach the patient at once, quiet hours or not.
    await eventually(lambda: mailbox(email), timeout=60, what="the cancellation email")
    assert await subjects(email) == [CANCELLED]
    assert datetime.now(ZONE) < ends, "the cancellation came after the quiet hours"

    # The hold passes: the control's confirmation goes out, the cancelled visit's never does.
    await eventually(lambda: mailbox(control_email), timeout=150, what="the control's confirmation")
    assert await subjects(control_email) == [CONFIRMED]

    async def decided_confirmation():  # by the cancellation, or at the latest by the sweep that sent the control's
        found = await confirmation(suite, patient_id)
        return found if found["status"] != "queued" else None

    decided = await eventually(decided_confirmation, timeout=60, what="the held confirmation decided")
    assert decided["status"] == "superseded", decided
    assert decided["id"] == held["id"] and decided["superseded_by"] and decided["sent_at"] is None
    assert await subjects(email) == [CANCELLED]
