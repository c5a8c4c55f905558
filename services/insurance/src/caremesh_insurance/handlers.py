"""The events insurance subscribes to: one handler each."""

from caremesh_contracts import (
    AppointmentCancelled,
    AppointmentDeclined,
    AppointmentFulfilled,
    AppointmentNoShowRecorded,
    AppointmentRequested,
    AppointmentRescheduled,
    CoverageChanged,
)
from caremesh_insurance.domain import AppointmentStatus
from caremesh_insurance.usecases import UseCases
from caremesh_kit.bus import Subscription
from caremesh_kit.envelope import Envelope


def subscriptions(uc: UseCases) -> list[Subscription]:
    async def ended(appointment_id: str, status: AppointmentStatus) -> None:
        """The visit will not take place: its check records why, and it no longer waits on or holds
        a prior-authorization unit (a missed visit uses none: the payer is not billed for it)."""
        await uc.eligibility.appointment_ended(appointment_id, status)
        await uc.authorizations.appointment_ended(appointment_id)

    async def on_appointment_cancelled(event: AppointmentCancelled, env: Envelope) -> None:
        await ended(event.appointment_id, AppointmentStatus.CANCELLED)

    async def on_appointment_declined(event: AppointmentDeclined, env: Envelope) -> None:
        await ended(event.appointment_id, AppointmentStatus.DECLINED)

    async def on_appointment_no_show(event: AppointmentNoShowRecorded, env: Envelope) -> None:
        await ended(event.appointment_id, AppointmentStatus.NO_SHOW)

    return [
        Subscription(AppointmentRequested, uc.eligibility.on_appointment_requested),
        # Its own event: a coverage change re-checks upcoming appointments even after a crash.
        Subscription(CoverageChanged, uc.eligibility.on_coverage_changed),
        # What happens to the appointments, for re-checks, visit limits and authorization units.
        Subscription(AppointmentCancelled, on_appointment_cancelled),
        Subscription(AppointmentDeclined, on_appointment_declined),
        Subscription(AppointmentNoShowRecorded, on_appointment_no_show),
        # A move: re-decided for the new day, and the authorization units follow the visit.
        Subscription(AppointmentRescheduled, uc.eligibility.on_appointment_rescheduled),
        # Units used by prior authorizations.
        Subscription(AppointmentFulfilled, uc.authorizations.on_appointment_fulfilled),
    ]
