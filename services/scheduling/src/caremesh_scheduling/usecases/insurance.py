"""Reacting to insurance: eligibility decisions and prior authorizations.

Every reaction is idempotent and safe under reordering: moves only go forward along the
lifecycle (a late event for an appointment past that point is acked and changes nothing), and the
``needs_action`` flag follows the newest event applied (``Appointment.insurance_at``).
"""

from collections.abc import Callable
from typing import TYPE_CHECKING

from caremesh_contracts import (
    AuthorizationApproved,
    AuthorizationCancelled,
    AuthorizationDenied,
    AuthorizationExpired,
    AuthorizationRequired,
    EligibilityConfirmed,
    EligibilityDenied,
)
from caremesh_kit.envelope import Envelope
from caremesh_kit.errors import NotFound, Unprocessable
from caremesh_scheduling.domain import ON_HOLD, Action, Appointment, Status, utcnow

if TYPE_CHECKING:
    from caremesh_scheduling.usecases.booking import Scheduling

AUTHORIZATION_FLAGS = (
    Action.AUTHORIZATION_DENIED,
    Action.AUTHORIZATION_NOT_COVERING,
    Action.AUTHORIZATION_EXPIRED,
    Action.AUTHORIZATION_CANCELLED,
)


class InsuranceReactions:
    async def on_eligibility_confirmed(self: "Scheduling", event: EligibilityConfirmed, env: Envelope) -> None:
        async def react(a: Appointment) -> bool:
            if a.status is Status.PENDING:
                return a.book(await self.calendar.practitioner_name(a.practitioner_id), utcnow())
            if a.status is Status.BOOKED:  # a re-check confirms again
                return a.clear_flag(env.time, Action.ELIGIBILITY_DENIED)
            return False  # waiting on authorization (its decision books it), or past deciding

        await self._react(event.appointment_id, react)

    async def on_eligibility_denied(self: "Scheduling", event: EligibilityDenied, env: Envelope) -> None:
        def react(a: Appointment) -> bool:
            if a.status is Status.PENDING:
                return a.decline(event.reason_code, utcnow())
            # Already waiting or booked (a re-check): the coordinator decides, the time stays held.
            return a.flag(Action.ELIGIBILITY_DENIED, env.time, event.reason_code)

        await self._react(event.appointment_id, react)

    async def on_authorization_required(self: "Scheduling", event: AuthorizationRequired, env: Envelope) -> None:
        if event.appointment_id:
            await self._react(
                event.appointment_id,
                lambda a: (
                    a.status in ON_HOLD
                    and a.wait_on_authorization(event.authorization_id, utcnow(), self.authorization_hold)
                ),
            )

    async def on_authorization_approved(self: "Scheduling", event: AuthorizationApproved, env: Envelope) -> None:
        if not event.appointment_id:
            return
        if not event.covers_appointment:
            await self._authorization_flag(event, env, Action.AUTHORIZATION_NOT_COVERING, None)
            return

        async def react(a: Appointment) -> bool:
            changed = a.clear_flag(env.time, *AUTHORIZATION_FLAGS)
            if a.status in ON_HOLD:
                a.authorization_id = event.authorization_id
                return a.book(await self.calendar.practitioner_name(a.practitioner_id), utcnow()) or changed
            return changed

        await self._react(event.appointment_id, react)

    async def on_authorization_denied(self: "Scheduling", event: AuthorizationDenied, env: Envelope) -> None:
        await self._authorization_flag(event, env, Action.AUTHORIZATION_DENIED, event.reason_code)

    async def on_authorization_expired(self: "Scheduling", event: AuthorizationExpired, env: Envelope) -> None:
        await self._authorization_flag(event, env, Action.AUTHORIZATION_EXPIRED, event.reason, upcoming_only=True)

    async def on_authorization_cancelled(self: "Scheduling", event: AuthorizationCancelled, env: Envelope) -> None:
        await self._authorization_flag(event, env, Action.AUTHORIZATION_CANCELLED, None, upcoming_only=True)

    async def _authorization_flag(
        self: "Scheduling", event, env: Envelope, reason: Action, code: str | None, upcoming_only: bool = False
    ) -> None:
        """Flag the appointment for a coordinator. One still pending missed the ``required``
        (reordered): it waits on the authorization from now on, so its hold lasts."""
        if not event.appointment_id:
            return
        now = utcnow()

        def react(a: Appointment) -> bool:
            if upcoming_only and a.start <= now:
                return False
            waited = a.status is Status.PENDING and a.wait_on_authorization(
                event.authorization_id, now, self.authorization_hold
            )
            return a.flag(reason, env.time, code) or waited

        await self._react(event.appointment_id, react)

    async def _react(self: "Scheduling", appointment_id: str, react: Callable[[Appointment], object]) -> None:
        try:
            appt = await self.appointments.repo.mutate(appointment_id, react)
        except NotFound as exc:
            raise Unprocessable(f"unknown appointment {appointment_id}") from exc
        await self._free(appt)  # a decline lets the time go; a redelivery repeats this harmlessly
