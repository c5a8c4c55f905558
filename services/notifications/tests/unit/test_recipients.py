"""Whom a message goes to and on which channels: consent, opt-outs, required messages, routes."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from caremesh_contracts import ConsentChanged
from caremesh_notifications.domain import (
    Category,
    Channel,
    Contact,
    FamilyMember,
    Preferences,
    PreferencesIn,
    Route,
    Rule,
    Skip,
    permitted,
    routes,
    select,
)
from caremesh_notifications.domain.templates import KINDS

ALL = {Channel.EMAIL, Channel.SMS, Channel.WEBHOOK}
BOOKED = KINDS["appointment.booked"].rule
CANCELLED = KINDS["appointment.cancelled"].rule
FAMILY_BOOKED = KINDS["family.appointment.booked"].rule


def patient(email: str | None = "grace@example.org", phone: str | None = "+15555550100") -> Contact:
    return Contact(id="pat-1", given_name="Grace", email=email, phone=phone, time_zone="America/New_York")


def member(pid: str, consent: list[str], email: str | None = None, phone: str | None = None) -> FamilyMember:
    m = FamilyMember(
        id=pid,
        patient_id="pat-1",
        given_name=pid,
        relationship="DAU",
        email=email or f"{pid}@x.org",
        phone=phone,
        time_zone="Europe/Paris",
    )
    m.apply_consent(
        ConsentChanged(
            related_person_id=pid, patient_id="pat-1", categories=consent, changed_at=datetime(2026, 1, 1, tzinfo=UTC)
        )
    )
    return m


def prefs(rid: str, **kw) -> Preferences:
    return Preferences(id=rid, patient_id="pat-1", **kw)


# -- consent ----------------------------------------------------------------------------------------


def test_a_daughter_with_consent_is_told_and_a_son_without_is_not():
    daughter, son = member("ruth", ["appointments"]), member("tom", [])
    chosen, skipped = select(FAMILY_BOOKED, [daughter, son], {}, ALL)
    assert [a.recipient.id for a in chosen] == ["ruth"]
    assert skipped == {Skip.NO_CONSENT: 1}


def test_consent_for_another_category_is_not_enough():
    assert permitted(FAMILY_BOOKED, member("ana", ["insurance", "care_plan"]), None) is Skip.NO_CONSENT


def test_a_withdrawn_consent_stops_messages():
    m = member("ruth", ["appointments"])
    m.apply_consent(
        ConsentChanged(
            related_person_id="ruth", patient_id="pat-1", categories=[], changed_at=datetime(2026, 2, 1, tzinfo=UTC)
        )
    )
    assert permitted(FAMILY_BOOKED, m, None) is Skip.NO_CONSENT


def test_required_messages_never_override_consent():
    rule = Rule(Category.APPOINTMENTS, required=True, consent="appointments")
    assert permitted(rule, member("tom", []), None) is Skip.NO_CONSENT


def test_a_kind_without_a_consent_category_never_reaches_family():
    assert permitted(BOOKED, member("ruth", ["appointments"]), None) is Skip.NO_CONSENT


def test_the_patient_needs_no_consent():
    assert permitted(BOOKED, patient(), None) is None


# -- opt-outs ---------------------------------------------------------------------------------------


def test_an_opt_out_stops_messages_of_that_category():
    assert permitted(BOOKED, patient(), prefs("pat-1", opt_outs=[Category.APPOINTMENTS])) is Skip.OPTED_OUT
    assert permitted(BOOKED, patient(), prefs("pat-1", opt_outs=[Category.SURVEYS])) is None


def test_required_messages_are_not_opt_out_able():
    assert CANCELLED.required and KINDS["appointment.declined"].rule.required
    assert permitted(CANCELLED, patient(), prefs("pat-1", opt_outs=[Category.APPOINTMENTS])) is None


def test_a_family_member_may_opt_out_despite_the_patients_consent():
    ruth = member("ruth", ["appointments"])
    assert permitted(FAMILY_BOOKED, ruth, prefs("ruth", opt_outs=[Category.APPOINTMENTS])) is Skip.OPTED_OUT


# -- routes -----------------------------------------------------------------------------------------


def test_without_preferences_email_comes_first_then_sms():
    assert routes(patient(), None, ALL) == [
        Route(channel=Channel.EMAIL, to="grace@example.org"),
        Route(channel=Channel.SMS, to="+15555550100"),
    ]


def test_a_patient_with_only_a_phone_gets_sms():
    assert [r.channel for r in routes(patient(email=None), None, ALL)] == [Channel.SMS]


def test_preferred_order_is_kept_and_channels_without_an_address_are_dropped():
    p = prefs("pat-1", channels=[Channel.WEBHOOK, Channel.SMS, Channel.EMAIL])
    assert routes(patient(), p, ALL) == [
        Route(channel=Channel.WEBHOOK, to="pat-1"),
        Route(channel=Channel.SMS, to="+15555550100"),
        Route(channel=Channel.EMAIL, to="grace@example.org"),
    ]
    assert [r.channel for r in routes(patient(phone=None), p, ALL)] == [Channel.WEBHOOK, Channel.EMAIL]


def test_channels_this_deployment_lacks_are_dropped():
    p = prefs("pat-1", channels=[Channel.SMS, Channel.EMAIL])
    assert [r.channel for r in routes(patient(), p, {Channel.EMAIL})] == [Channel.EMAIL]


def test_the_app_is_used_only_when_chosen():
    assert Channel.WEBHOOK not in [r.channel for r in routes(patient(), None, ALL)]


def test_a_recipient_without_any_usable_channel_is_left_out():
    chosen, skipped = select(BOOKED, [patient(email=None, phone=None)], {}, ALL)
    assert chosen == [] and skipped == {Skip.NO_CHANNEL: 1}


def test_select_keeps_each_recipients_preferences_and_routes():
    ruth = member("ruth", ["appointments"], phone="+33612345678")
    p = prefs("ruth", channels=[Channel.SMS, Channel.EMAIL], language="fr")
    [a] = select(FAMILY_BOOKED, [ruth], {"ruth": p}, ALL)[0]
    assert a.prefs is p and [r.channel for r in a.routes] == [Channel.SMS, Channel.EMAIL]


# -- preference input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"channels": []},
        {"channels": ["email", "email"]},
        {"channels": ["fax"]},
        {"language": "english please"},
        {"opt_outs": ["reminders", "reminders"]},
        {"time_zone": "Mars/Olympus"},
        {"quiet_hours": {"start": "22:00", "end": "22:00"}},
    ],
)
def test_invalid_preferences_are_refused(body):
    with pytest.raises(ValidationError):
        PreferencesIn.model_validate(body)


def test_updating_to_the_same_preferences_changes_nothing():
    p = prefs("pat-1")
    assert p.update(PreferencesIn(), "someone", datetime(2026, 1, 1, tzinfo=UTC)) is False
    new = PreferencesIn(channels=[Channel.SMS], opt_outs=[Category.SURVEYS])
    assert p.update(new, "pat-user", datetime(2026, 1, 2, tzinfo=UTC)) is True
    assert (p.channels, p.opt_outs, p.updated_by) == ([Channel.SMS], [Category.SURVEYS], "pat-user")
