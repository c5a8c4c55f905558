"""Reacting to insurance: eligibility decisions and prior authorizations.

Every reaction is idempotent and safe under reordering: moves only go forward along the
lifecycle (a late event for an appointment past that point is acked and changes nothing), and the
``needs_action`` flag follows the newest event applied (``Appointment.insurance_at``).
"""

from collections.abc import Callable
from datetime import timedelta

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
from caremesh_scheduling.domain import ON_HOLD, Action, Appointment, Status
from caremesh_scheduling.store import AppointmentStore
from caremesh_scheduling.usecases.appointment_book import AppointmentBook
from caremesh_scheduling.usecases.calendar import CalendarAdmin

AuthorizationEvent = AuthorizationApproved | AuthorizationDenied | AuthorizationExpired | AuthorizationCancelled

AUTHORIZATION_FLAGS = (
    Action.AUTHORIZATION_DENIED,
    Action.AUTHORIZATION_NOT_COVERING,
    Action.AUTHORIZATION_EXPIRED,
    Action.AUTHORIZATION_CANCELLED,
)


class InsuranceReactions:
    def __init__(
        self,
        calendar: CalendarAdmin,
        appointments: AppointmentStore,
        book: AppointmentBook,
        authorization_hold: timedelta,
    ) -> None:
        self.calendar = calendar
        self.repo = appointments.repo
        self.book = book
        self.clock = book.clock
        self.authorization_hold = authorization_hold  # waiting on authorization: while the payer decides

    async def on_eligibility_confirmed(self, event: EligibilityConfirmed, env: Envelope) -> None:
        async def react(a: Appointment) -> bool:
            if a.status is Status.PENDING:
                return a.book(await self.calendar.practitioner_name(a.practitioner_id), self.clock())
            if a.status is Status.BOOKED:  # a re-check confirms again
                return a.clear_flag(env.time, Action.ELIGIBILITY_DENIED)
            return False  # waiting on authorization (its decision books it), or past deciding

        await self._react(event.appointment_id, react)

    async def on_eligibility_denied(self, event: EligibilityDenied, env: Envelope) -> None:
        def react(a: Appointment) -> bool:
            if a.status is Status.PENDING:
                return a.decline(event.reason_code, self.clock())
            # Already waiting or booked (a re-check): the coordinator decides, the time stays held.
            return a.flag(Action.ELIGIBILITY_DENIED, env.time, event.reason_code)

        await self._react(event.appointment_id, react)

    async def on_authorization_required(self, event: AuthorizationRequired, env: Envelope) -> None:
        if event.appointment_id:
            await self._react(
                event.appointment_id,
                lambda a: (
                    a.status in ON_HOLD
                    and a.wait_on_authorization(event.authorization_id, self.clock(), self.authorization_hold)
                ),
            )

    async def on_authorization_approved(self, event: AuthorizationApproved, env: Envelope) -> None:
        if not event.appointment_id:
            return
        if not event.covers_appointment:
            await self._authorization_flag(event, env, Action.AUTHORIZATION_NOT_COVERING, None)
            return

        async def react(a: Appointment) -> bool:
            changed = a.clear_flag(env.time, *AUTHORIZATION_FLAGS)
            if a.status in ON_HOLD:
                a.authorization_id = event.authorization_id
                return a.book(await self.calendar.practitioner_name(a.practitioner_id), self.clock()) or changed
            return changed

        await self._react(event.appointment_id, react)

    async def on_authorization_denied(self, event: AuthorizationDenied, env: Envelope) -> None:
        await self._authorization_flag(event, env, Action.AUTHORIZATION_DENIED, event.reason_code)

    async def on_authorization_expired(self, event: AuthorizationExpired, env: Envelope) -> None:
        await self._authorization_flag(event, env, Action.AUTHORIZATION_EXPIRED, event.reason, upcoming_only=True)

    async def on_authorization_cancelled(self, event: AuthorizationCancelled, env: Envelope) -> None:
        await self._authorization_flag(event, env, Action.AUTHORIZATION_CANCELLED, None, upcoming_only=True)

    async def _authorization_flag(
        self, event: AuthorizationEvent, env: Envelope, reason: Action, code: str | None, upcoming_only: bool = False
    ) -> None:
        """Flag the appointment for a coordinator. One still pending missed the ``required``
        (reordered): it waits on the authorization from now on, so its hold lasts."""
        if not event.appointment_id:
            return
        now = self.clock()
        authorization_id = event.authorization_id

        def react(a: Appointment) -> bool:
            if upcoming_only and a.start <= now:
                return False
            waited = a.status is Status.PENDING and a.wait_on_authorization(
                authorization_id, now, self.authorization_hold
            )
            return a.flag(reason, env.time, code) or waited

        await self._react(event.appointment_id, react)

    async def _react(self, appointment_id: str, react: Callable[[Appointment], object]) -> None:
        try:
            appt = await self.repo.mutate(appointment_id, react)
        except NotFound as exc:
            raise Unprocessable(f"unknown appointment {appointment_id}") from exc
        await self.book.changed(appt)  # a decline lets the time go; a redelivery repeats this harmlessly
