"""Subscriptions, deliveries and what a partner may see: the gateway's pure domain."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from caremesh_contracts import (
    AuthorizationApproved,
    PartnerSubscriptionDisabled,
    ReferralClosed,
    SurveyCompleted,
)
from caremesh_contracts.audiences import PartnerKind
from caremesh_kit.errors import Conflict
from caremesh_partners.domain import (
    DEFAULT_SCHEDULE,
    Attempt,
    Delivery,
    DeliveryStatus,
    Facts,
    Filter,
    Partner,
    PartnerStatus,
    PartnerTerms,
    Start,
    Subscription,
    SubscriptionTerms,
    Webhook,
    delivery_id,
    partner_view,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def terms(*types: str, **kw) -> SubscriptionTerms:
    return SubscriptionTerms(event_types=list(types), channel=Webhook(url="https://partner.example/hook"), **kw)


def subscription(*types: str, start: Start | None = None) -> Subscription:
    return Subscription.create("s1", "p1", terms(*types), start or Start(), "whsec_a", live_from=40, now=T0)


@pytest.mark.parametrize(
    ("pattern", "key", "wanted"),
    [
        ("scheduling.referral.*", "scheduling.referral.closed", True),
        ("scheduling.referral.*", "scheduling.appointment.booked", False),
        ("scheduling.*.booked", "scheduling.appointment.booked", True),
        ("insurance.*.*", "insurance.authorization.approved", True),
        ("scheduling.referral.closed", "scheduling.referral.closed", True),
        ("scheduling.referral", "scheduling.referral.closed", False),
        ("#", "records.patient.merged", True),
    ],
)
def test_event_types_match_routing_keys_word_by_word(pattern, key, wanted):
    assert terms(pattern).wants(key) is wanted


def test_an_event_type_that_is_not_a_routing_key_pattern_is_refused_by_name():
    with pytest.raises(ValidationError, match="event types"):
        terms("scheduling/referral")


def test_a_new_subscription_backfills_from_where_the_gateway_was_or_from_the_offset_asked():
    now = subscription("#")
    assert (now.live_from, now.start_offset, now.backfilled) == (40, 40, False)
    past = subscription("#", start=Start(offset=3))
    assert (past.start_offset, past.backfilled) == (3, False)
    assert past.backfill_done(T0) and not past.backfill_done(T0)  # once


def test_a_rotated_secret_keeps_signing_beside_the_new_one_for_the_overlap_only():
    sub = subscription("#")
    sub.rotate_secret("whsec_b", timedelta(hours=24), T0)
    assert sub.signing_secrets(T0 + timedelta(hours=1)) == ["whsec_b", "whsec_a"]
    assert sub.signing_secrets(T0 + timedelta(hours=25)) == ["whsec_b"]
    sub.rotate_secret("whsec_c", timedelta(hours=24), T0 + timedelta(hours=2))
    assert sub.signing_secrets(T0 + timedelta(hours=3)) == ["whsec_c", "whsec_b"]  # never three


def test_an_endpoint_failing_for_the_whole_window_is_turned_off_once_with_an_event():
    sub = subscription("#")
    window = timedelta(days=5)
    assert sub.failed(T0, window, T0)
    assert sub.active and sub.take_events() == []
    assert sub.failed(T0 + timedelta(days=5), window, T0 + timedelta(days=5))
    assert not sub.active
    (event,) = sub.take_events()
    assert isinstance(event, PartnerSubscriptionDisabled) and event.failing_since == T0 and event.failed_deliveries == 2
    assert not sub.failed(T0 + timedelta(days=6), window, T0 + timedelta(days=6))  # off already: nothing more


def test_one_success_clears_the_failures():
    sub = subscription("#")
    sub.failed(T0, timedelta(days=5), T0)
    assert sub.delivered(T0 + timedelta(minutes=1))
    assert sub.failing_since is None and sub.failed_deliveries == 0
    assert sub.enable(T0) is False  # it is on


def delivery() -> Delivery:
    return Delivery(
        id=delivery_id("s1", "e1"),
        subscription_id="s1",
        partner_id="p1",
        event_id="e1",
        event_type="org.caremesh.scheduling.referral.closed.v1",
        routing_key="scheduling.referral.closed",
        offset=41,
        event_time=T0,
        body={"referral_id": "r1"},
        next_attempt_at=T0,
        created_at=T0,
    )


def failure(at: datetime, code: int | None = 503) -> Attempt:
    return Attempt(at=at, status_code=code, latency_ms=12.0, error=None if code else "timeout")


def test_the_delivery_id_is_the_same_for_the_same_event_and_subscription_only():
    assert delivery_id("s1", "e1") == delivery_id("s1", "e1") != delivery_id("s2", "e1")
    assert delivery_id("s1", "e1").startswith("msg_")


def test_failed_attempts_follow_the_schedule_then_the_delivery_fails():
    d = delivery()
    now = T0
    for step in DEFAULT_SCHEDULE[1:]:
        d.claim(now)
        d.record(failure(now), DEFAULT_SCHEDULE, now)
        assert d.status is DeliveryStatus.PENDING and d.next_attempt_at == now + timedelta(seconds=step)
        now = d.next_attempt_at
    d.claim(now)
    d.record(failure(now, None), DEFAULT_SCHEDULE, now)
    assert d.status is DeliveryStatus.FAILED and len(d.attempts) == len(DEFAULT_SCHEDULE)


def test_only_a_2xx_delivers_and_a_replay_starts_a_fresh_schedule():
    d = delivery()
    d.claim(T0)
    d.record(failure(T0, 302), (0.0, 5.0), T0)
    assert d.status is DeliveryStatus.PENDING  # a redirect is not a delivery
    d.claim(T0)
    d.record(failure(T0, 500), (0.0, 5.0), T0)
    assert d.status is DeliveryStatus.FAILED
    assert d.replay(T0)
    d.claim(T0)
    d.record(Attempt(at=T0, status_code=204, latency_ms=3.0), (0.0, 5.0), T0)
    assert d.status is DeliveryStatus.DELIVERED and d.delivered_at == T0 and len(d.attempts) == 3
    assert d.replay(T0)  # a delivered one may be sent again on request
    d.claim(T0)
    with pytest.raises(Conflict):
        d.replay(T0)  # not while it is being sent


def partner(kind: PartnerKind, **kw) -> Partner:
    purpose = {PartnerKind.PAYER: "HPAYMT", PartnerKind.ANALYTICS: "HOPERAT"}.get(kind, "TREAT")
    return Partner.register("p1", PartnerTerms(name="x", kind=kind, purpose_of_use=purpose, **kw), T0)


def approved() -> dict:
    return AuthorizationApproved(
        authorization_id="a1",
        patient_id="pt1",
        appointment_id="ap1",
        service_code="99213",
        partial=False,
        covers_appointment=True,
        authorization_number="N1",
        approved_units=1,
        valid_from=T0.date(),
        valid_to=T0.date(),
    ).model_dump(mode="json")


def test_a_payer_hears_only_of_its_own_members_and_only_the_fields_of_its_view():
    acme = partner(PartnerKind.PAYER, payer_id="acme")
    shown = partner_view(acme, AuthorizationApproved, approved(), Facts(payer_ids=frozenset({"acme"})))
    assert shown is not None and shown["authorization_number"] == "N1"
    assert "covers_appointment" not in shown
    assert partner_view(acme, AuthorizationApproved, approved(), Facts(payer_ids=frozenset({"other"}))) is None
    assert partner_view(acme, AuthorizationApproved, approved(), Facts()) is None


def test_a_referring_clinic_hears_only_of_its_own_referrals_and_analytics_gets_no_patient():
    closed = ReferralClosed(
        referral_id="r1", patient_id="pt1", service_code="99213", referring_organization="north", outcome="completed"
    ).model_dump(mode="json")
    north = partner(PartnerKind.REFERRING_CLINIC, organization="north")
    assert partner_view(north, ReferralClosed, closed, Facts(referring_organization="north")) is not None
    assert partner_view(north, ReferralClosed, closed, Facts(referring_organization="south")) is None
    stats = partner_view(partner(PartnerKind.ANALYTICS), ReferralClosed, closed, Facts())
    assert stats == {"service_code": "99213", "outcome": "completed", "seen_on": None}
    survey = SurveyCompleted(
        survey_id="s",
        appointment_id="a",
        patient_id="pt1",
        practitioner_id="pr",
        service_code="99213",
        scores={"q1": 5},
        completed_at=T0,
    ).model_dump(mode="json")
    assert partner_view(partner(PartnerKind.PAYER, payer_id="acme"), SurveyCompleted, survey, Facts()) is None


def test_a_suspended_partner_hears_nothing_and_a_payer_must_name_itself():
    acme = partner(PartnerKind.PAYER, payer_id="acme")
    acme.set_status(PartnerStatus.SUSPENDED, T0)
    assert partner_view(acme, AuthorizationApproved, approved(), Facts(payer_ids=frozenset({"acme"}))) is None
    with pytest.raises(ValidationError, match="payer_id"):
        PartnerTerms(name="x", kind=PartnerKind.PAYER, purpose_of_use="HPAYMT")


def test_filters_look_at_the_partners_view_or_the_subject():
    f = Filter(field="service_code", any_of=["99213"])
    assert f.passes(None, {"service_code": "99213"}) and not f.passes(None, {"service_code": "99214"})
    assert not f.passes(None, {})
    assert Filter(field="subject", any_of=["r1"]).passes("r1", {})


def test_a_webhook_url_must_name_a_host_and_a_start_time_its_zone():
    with pytest.raises(ValidationError, match="url"):
        Webhook(url="http://[::1/x")
    with pytest.raises(ValidationError, match="timezone"):
        Start(time=datetime(2026, 3, 2, 9, 0))


def test_a_delivery_waiting_behind_another_is_put_off_never_brought_forward():
    d = delivery()
    assert d.put_off(T0 + timedelta(minutes=5))
    assert not d.put_off(T0 + timedelta(minutes=1))
    assert d.next_attempt_at == T0 + timedelta(minutes=5)
