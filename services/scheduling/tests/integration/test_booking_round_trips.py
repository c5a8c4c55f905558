"""What scheduling's booking on ``insurance.eligibility.confirmed`` costs in store round trips (the
booking path's last hop here), and that each of its queries is served from an index."""

from datetime import UTC, datetime, timedelta

from caremesh_contracts import EligibilityConfirmed
from caremesh_kit.store import counting_round_trips
from caremesh_scheduling.app import build
from caremesh_testing import running

from .conftest import envelope_for, make_clinic, settings_for, unindexed

# Read the appointment; then the commit and the appointment's current state. The practitioner's
# name is read once per process (never again: a practitioner does not change).
BOOKING = 3


async def test_a_booking_on_confirmation_takes_three_round_trips_and_a_redelivery_one(namespace, store_commands):
    app = build(settings_for(namespace))
    async with running(app) as client:
        scheduling = app.state.usecases
        clinic = await make_clinic(client)
        slot = await clinic.first_slot(datetime.now(UTC) + timedelta(days=1))
        r = await clinic.book(slot["slot_id"])
        assert r.status_code == 201, r.text
        appointment = r.json()
        event = EligibilityConfirmed(
            appointment_id=appointment["id"], patient_id="p1", coverage_id="c1", trigger="appointment_requested"
        )

        with counting_round_trips() as trips, store_commands.capture() as commands:
            await scheduling.insurance.on_eligibility_confirmed(event, envelope_for(event, appointment["id"]))
        assert trips.store == len(commands) <= BOOKING, commands
        assert unindexed(commands, app.state.runtime.indexes) == []
        booked = (await client.get(f"/appointments/{appointment['id']}")).json()
        assert (booked["status"], booked["version"]) == ("booked", appointment["version"] + 1)

        with counting_round_trips() as again:
            await scheduling.insurance.on_eligibility_confirmed(event, envelope_for(event, appointment["id"]))
        assert again.store == 1  # booked already: nothing is written
        assert (await client.get(f"/appointments/{appointment['id']}")).json()["version"] == booked["version"]


async def test_a_process_that_did_not_add_the_practitioner_reads_the_name_once(namespace, store_commands):
    app = build(settings_for(namespace))
    async with running(app) as client:
        scheduling = app.state.usecases
        clinic = await make_clinic(client, name="Dr. Once")
        scheduling.calendar._names.clear()  # as in another replica
        day = datetime.now(UTC) + timedelta(days=1)
        trips = []
        for patient in ("p1", "p2"):
            slot = await clinic.first_slot(day)
            appointment = (await clinic.book(slot["slot_id"], patient=patient)).json()
            event = EligibilityConfirmed(appointment_id=appointment["id"], patient_id=patient, coverage_id="c1")
            with counting_round_trips() as counted, store_commands.capture() as commands:
                await scheduling.insurance.on_eligibility_confirmed(event, envelope_for(event, appointment["id"]))
            assert unindexed(commands, app.state.runtime.indexes) == []
            trips.append(counted.store)
            day = datetime.fromisoformat(slot["end"])
        assert trips == [BOOKING + 1, BOOKING]
