"""Minimum necessary: which fields of each event a partner of each kind may receive.

The partner gateway projects every event to its partner's view before delivery, and delivers
nothing of a type whose table has no row for the partner's kind. Beyond the fields, the gateway
scopes what it delivers: a payer hears only of its own members, a referring clinic only of the
referrals it made (see the gateway's ``domain/scope.py``). Analytics views carry no patient id.
"""

from enum import StrEnum

from caremesh_contracts.base import Event


class PartnerKind(StrEnum):
    PAYER = "payer"
    REFERRING_CLINIC = "referring_clinic"
    LAB = "lab"
    PATIENT_APP = "patient_app"
    ANALYTICS = "analytics"


PAYER, CLINIC, ANALYTICS = PartnerKind.PAYER, PartnerKind.REFERRING_CLINIC, PartnerKind.ANALYTICS

_AUTHORIZATION = ("authorization_id", "patient_id", "appointment_id", "service_code")
_REFERRAL = ("referral_id", "patient_id", "service_code", "referring_organization")

# routing key -> partner kind -> the fields that kind receives.
VIEWS: dict[str, dict[PartnerKind, tuple[str, ...]]] = {
    "insurance.coverage.changed": {
        PAYER: (
            "coverage_id",
            "patient_id",
            "coverage_version",
            "plan_id",
            "payer_id",
            "status",
            "period_start",
            "period_end",
        )
    },
    "insurance.eligibility.confirmed": {PAYER: ("appointment_id", "patient_id", "coverage_id", "trigger")},
    "insurance.eligibility.denied": {PAYER: ("appointment_id", "patient_id", "reason_code", "trigger")},
    "insurance.authorization.required": {PAYER: (*_AUTHORIZATION, "coverage_id")},
    "insurance.authorization.submitted": {PAYER: (*_AUTHORIZATION, "priority", "submitted_at", "decision_due")},
    "insurance.authorization.pended": {PAYER: _AUTHORIZATION},
    "insurance.authorization.approved": {
        PAYER: (*_AUTHORIZATION, "partial", "authorization_number", "approved_units", "valid_from", "valid_to")
    },
    "insurance.authorization.denied": {PAYER: (*_AUTHORIZATION, "reason_code", "appealable")},
    "insurance.authorization.appealed": {PAYER: (*_AUTHORIZATION, "decision_due")},
    "insurance.authorization.overdue": {PAYER: (*_AUTHORIZATION, "priority", "decision_due")},
    "insurance.authorization.cancelled": {PAYER: _AUTHORIZATION},
    "insurance.authorization.expired": {PAYER: _AUTHORIZATION},
    "scheduling.referral.received": {CLINIC: (*_REFERRAL, "priority", "due_by")},
    "scheduling.referral.accepted": {CLINIC: _REFERRAL},
    "scheduling.referral.rejected": {CLINIC: (*_REFERRAL, "reason")},
    "scheduling.referral.scheduled": {CLINIC: (*_REFERRAL, "appointment_id", "start")},
    "scheduling.referral.overdue": {CLINIC: (*_REFERRAL, "received_at", "due_by")},
    "scheduling.referral.closed": {
        CLINIC: (*_REFERRAL, "outcome", "referring_reference", "appointment_id", "seen_on"),
        ANALYTICS: ("service_code", "outcome", "seen_on"),
    },
    "scheduling.appointment.booked": {ANALYTICS: ("service_code", "practitioner_id", "start", "end")},
    "scheduling.appointment.cancelled": {ANALYTICS: ("service_code", "start", "reason_code", "late")},
    "scheduling.appointment.no_show_recorded": {ANALYTICS: ("service_code", "start")},
    "scheduling.appointment.fulfilled": {ANALYTICS: ("service_code", "practitioner_id", "start", "end")},
    "notifications.survey.completed": {ANALYTICS: ("service_code", "practitioner_id", "scores", "completed_at")},
}


def view(event: type[Event], kind: PartnerKind) -> tuple[str, ...] | None:
    """The fields of ``event`` a partner of ``kind`` receives; None: not delivered to that kind."""
    return VIEWS.get(event.routing_key, {}).get(kind)


def project(body: dict[str, object], fields: tuple[str, ...]) -> dict[str, object]:
    """``body`` cut down to ``fields`` (those it has)."""
    return {k: body[k] for k in fields if k in body}
