"""What records' timeline entry on ``scheduling.appointment.booked`` costs in store round trips (the
booking path's last hop here): the event carries all the entry needs, so nothing is read."""

from datetime import UTC, datetime, timedelta

from caremesh_contracts import AppointmentBooked
from caremesh_kit.store import counting_round_trips
from caremesh_records.app import build
from caremesh_records.settings import RecordsSettings
from caremesh_testing import running, service_settings

from .conftest import envelope_for, unindexed

# The entry's insert (its id is the event's: a redelivery's insert is refused as a duplicate).
TIMELINE_ENTRY = 1


async def test_a_booked_appointment_is_one_insert_on_the_timeline(namespace, store_commands):
    app = build(service_settings(RecordsSettings, namespace))
    async with running(app):
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
        event = AppointmentBooked(
            appointment_id="appt-trips",
            patient_id="p-trips",
            practitioner_id="pr-1",
            practitioner_name="Dr. Who",
            service_code="99213",
            start=start,
            end=start + timedelta(minutes=30),
        )
        env = envelope_for(event, event.appointment_id)
        for delivery in ("first", "again"):
            with counting_round_trips() as trips, store_commands.capture() as commands:
                await app.state.usecases.timeline.on_appointment_booked(event, env)
            assert trips.store == len(commands) <= TIMELINE_ENTRY, (delivery, commands)
            assert [c.name for c in commands] == ["insert"]
            assert unindexed(commands, app.state.runtime.indexes) == []
        entries = [d async for d in app.state.runtime.store.db["timeline"].find({"patient_id": "p-trips"})]
        assert [(e["_id"], e["kind"], e["summary"]) for e in entries] == [
            (env.id, "appointment.booked", "Appointment booked with Dr. Who (99213)")
        ]
