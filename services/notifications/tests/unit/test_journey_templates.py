"""What the journey's messages say: reminders, moves, waitlist offers, authorization outcomes, the
survey invitation and the care team's own messages; minimum necessary on SMS and lock screens."""

from datetime import UTC, date, datetime

import pytest

from caremesh_notifications.adapters import templates as template_files
from caremesh_notifications.domain import Category, Channel, Rule
from caremesh_notifications.domain.templates import KINDS, Audience, localize

CATALOG = template_files.load().verify()
WHEN = datetime(2026, 7, 15, 13, 30, tzinfo=UTC)  # 09:30 EDT
BASE = {
    "recipient_name": "Amara",
    "patient_name": "Grace",
    "practitioner_name": "Dr Ada Okafor",
    "when": WHEN,
    "reference": "ref-1",
    "previous_when": datetime(2026, 7, 14, 13, 30, tzinfo=UTC),
    "expires": datetime(2026, 7, 13, 21, tzinfo=UTC),
    "accept_url": "https://s.example/accept?token=1.a",
    "decline_url": "https://s.example/decline?token=1.d",
    "survey_url": "https://n.example/surveys/s?token=1.s",
    "authorization_number": "PA123",
    "units": "6",
    "partial": "no",
    "valid_from": date(2026, 7, 1),
    "valid_to": date(2026, 9, 30),
    "reason": "Physical therapy must be tried first.",
    "appealable": "yes",
    "subject": "Your results",
    "text": "Your HbA1c came back at 7.9%.",
    "short_text": "",
}
NEW_KINDS = [
    "appointment.reminder",
    "family.appointment.reminder",
    "appointment.rescheduled",
    "family.appointment.rescheduled",
    "waitlist.offer",
    "authorization.required",
    "authorization.approved",
    "authorization.denied",
    "family.authorization.approved",
    "family.authorization.denied",
    "survey.invitation",
    "care_team.message",
    "family.care_team.message",
]


def render(kind: str, channel: Channel = Channel.EMAIL, language: str = "en", zone: str = "America/New_York", **facts):
    spec = CATALOG.kind(kind)
    variables = localize.variables({k: (BASE | facts)[k] for k in spec.variables}, zone, language)
    return CATALOG.render(kind, channel, variables, language)


def everything(content) -> str:
    return content.text + (content.subject or "") + (content.html or "")


@pytest.mark.parametrize("kind", NEW_KINDS)
@pytest.mark.parametrize("language", ["en", "es"])
def test_every_new_kind_has_every_channel_in_english_and_spanish(kind, language):
    for channel in Channel:
        assert language in CATALOG.languages(kind, channel), (kind, channel)
        assert render(kind, channel, language).text.strip()


def test_reminder_in_the_recipients_zone_and_language():
    en = render("appointment.reminder")
    assert en.subject == "Reminder: your upcoming appointment"
    assert "Dr Ada Okafor on Wednesday 15 July 2026 at 09:30 EDT" in en.text
    es = render("appointment.reminder", Channel.SMS, "es", zone="Europe/Madrid")
    assert es.text.startswith("Recordatorio: Amara, su cita es el miércoles 15 de julio de 2026, 15:30 (CEST).")
    family = render("family.appointment.reminder", Channel.SMS, recipient_name="Ruth")
    assert "Grace's appointment is on Wednesday 15 July 2026" in family.text and "Okafor" not in family.text


def test_a_move_gives_both_times():
    content = render("appointment.rescheduled", Channel.SMS)
    assert content.text.startswith(
        "Hi Amara, your appointment on Tuesday 14 July 2026 at 09:30 EDT has moved to "
        "Wednesday 15 July 2026 at 09:30 EDT."
    )


def test_a_waitlist_offer_carries_both_links_on_every_channel():
    for channel in Channel:
        content = render("waitlist.offer", channel)
        for url in (BASE["accept_url"], BASE["decline_url"]):
            assert url in content.text
    html = render("waitlist.offer").html
    assert f'<a href="{BASE["accept_url"]}">' in html and "until <strong>Monday 13 July 2026 at 17:00 EDT" in html
    assert "Okafor" not in render("waitlist.offer", Channel.SMS).text
    # Following a link only shows the offer (scheduling answers it on the page's POST): the email says so.
    for content in (render("waitlist.offer"), render("waitlist.offer", language="es")):
        assert content.version >= 2 and "Yes, I will take" not in content.html
    assert "opening a link alone books or gives up nothing" in render("waitlist.offer").text
    assert "abrir un enlace no reserva ni cede nada" in render("waitlist.offer", language="es").html


def test_authorization_outcomes_in_plain_language():
    full = render("authorization.approved")
    assert full.subject == "Your health plan approved your care"
    assert "up to 6 visits or sessions from 1 July 2026 to 30 September 2026" in full.text
    part = render("authorization.approved", partial="yes")
    assert part.subject == "Your health plan approved part of your care"
    assert "talk with you about the rest" in part.text
    assert "del 1 de julio de 2026 al 30 de septiembre de 2026" in render("authorization.approved", language="es").text
    denied = render("authorization.denied")
    assert "What the plan told us: Physical therapy must be tried first." in denied.text
    assert "You can appeal" in denied.text
    assert "You can appeal" not in render("authorization.denied", appealable="no").text
    assert "prior authorization" in render("authorization.required").text


def test_the_payers_reason_and_the_practitioner_stay_off_sms_and_lock_screens():
    for channel in (Channel.SMS, Channel.WEBHOOK):
        for kind in ("authorization.denied", "family.authorization.denied"):
            assert "Physical therapy" not in everything(render(kind, channel))
        for kind in ("appointment.reminder", "appointment.rescheduled", "survey.invitation"):
            assert "Okafor" not in everything(render(kind, channel))


def test_the_care_teams_own_words_go_by_email_only_unless_written_for_sms():
    email = render("care_team.message")
    assert email.subject == "Your results" and "Your HbA1c came back at 7.9%." in email.text
    for channel in (Channel.SMS, Channel.WEBHOOK):
        plain = render("care_team.message", channel)
        assert "HbA1c" not in everything(plain) and "Your results" not in everything(plain)
        assert "check your email" in plain.text.lower() or "care coordinator" in plain.text
        short = render("care_team.message", channel, short_text="Please call us today.")
        assert "Please call us today." in short.text and "HbA1c" not in short.text
    family = render("family.care_team.message", recipient_name="Ruth")
    assert "A message from Grace's care team:" in family.text


def test_the_survey_invitation_links_to_the_survey():
    sms = render("survey.invitation", Channel.SMS)
    assert sms.text == (
        "Hi Amara, how was your visit on Wednesday 15 July 2026 at 09:30 EDT? Tell us in 4 quick "
        "questions: https://n.example/surveys/s?token=1.s"
    )


def test_new_kinds_follow_consent_and_categories():
    assert KINDS["appointment.reminder"].rule == Rule(Category.REMINDERS)
    assert KINDS["family.appointment.reminder"].rule.consent == "appointments"
    assert KINDS["family.authorization.approved"].rule == Rule(Category.INSURANCE, consent="insurance")
    assert KINDS["appointment.rescheduled"].rule.required  # the patient must learn the new time
    assert KINDS["survey.invitation"].rule.category is Category.SURVEYS
    own = KINDS["family.care_team.message"]
    assert own.audience is Audience.FAMILY and own.open_category
    assert own.rule_for(Category.CARE_PLAN) == Rule(Category.CARE_PLAN, consent="care_plan")
    assert own.rule_for(None) == own.rule
    assert KINDS["appointment.booked"].rule_for(Category.INSURANCE) == KINDS["appointment.booked"].rule
