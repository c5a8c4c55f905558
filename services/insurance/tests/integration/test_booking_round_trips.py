"""What insurance's eligibility check on ``scheduling.appointment.requested`` costs in store round
trips (the booking path's middle hop), and that each of its queries is served from an index (the
coverages by their top-level lookup fields, which older documents are given)."""

from caremesh_insurance.app import build
from caremesh_kit.store import counting_round_trips
from caremesh_testing import running

from .conftest import Setup, envelope_for, requested, unindexed

# Read the check (a redelivery finds it), the patient's coverages, the plan and its payer; then the
# commit and the check's current state.
ELIGIBILITY_CHECK = 6
# Also the patient's visits (the plan limits them) and the gate: the appointment's authorizations,
# the patient's in force or open ones, then the new authorization (existence check, commit, state).
WITH_LIMIT_AND_AUTHORIZATION = ELIGIBILITY_CHECK + 1 + 2 + 3


async def test_an_eligibility_check_takes_six_round_trips_and_a_redelivery_one(settings, store_commands):
    app = build(settings)
    async with running(app) as client:
        setup, insurance = Setup(client), app.state.usecases
        plan = await setup.plan((await setup.payer())["id"])
        coverage = await setup.coverage("p-trips", plan["id"])
        event = requested("p-trips", "a-trips")

        with counting_round_trips() as trips, store_commands.capture() as commands:
            await insurance.eligibility.on_appointment_requested(event, envelope_for(event, event.appointment_id))
        assert trips.store == len(commands) <= ELIGIBILITY_CHECK, commands
        assert unindexed(commands, app.state.runtime.indexes) == []
        assert [c.name for c in commands if c.name != "find"] == ["insert", "insert"]  # the commit, the state

        check = (await client.get("/eligibility-checks/a-trips")).json()
        assert (check["decision"]["outcome"], check["decision"]["coverage_id"]) == ("confirmed", coverage["id"])

        with counting_round_trips() as again:
            await insurance.eligibility.on_appointment_requested(event, envelope_for(event, event.appointment_id))
        assert again.store == 1  # found decided: nothing is written
        assert (await client.get("/eligibility-checks/a-trips")).json()["runs"] == check["runs"]


async def test_visit_limits_and_prior_authorizations_read_only_what_they_need(settings, store_commands):
    app = build(settings)
    async with running(app) as client:
        setup, insurance = Setup(client), app.state.usecases
        plan = await setup.plan(
            (await setup.payer())["id"], services=[{"code": "99213", "visits_per_year": 5, "prior_authorization": True}]
        )
        await setup.coverage("p-auth", plan["id"])
        event = requested("p-auth", "a-auth")

        with counting_round_trips() as trips, store_commands.capture() as commands:
            await insurance.eligibility.on_appointment_requested(event, envelope_for(event, event.appointment_id))
        assert trips.store == len(commands) <= WITH_LIMIT_AND_AUTHORIZATION, commands
        assert unindexed(commands, app.state.runtime.indexes) == []

        check = (await client.get("/eligibility-checks/a-auth")).json()
        assert check["decision"]["outcome"] == "confirmed" and check["awaiting_authorization"] is True
