"""Templates: what each message says per channel and language, minimum necessary, and the deploy-time check."""

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from jinja2 import UndefinedError, meta

from caremesh_contracts import AppointmentBooked, AppointmentCancelled, AppointmentDeclined, AppointmentNoShowRecorded
from caremesh_notifications.__main__ import templates as cli
from caremesh_notifications.adapters import templates as template_files
from caremesh_notifications.adapters.templates import FILES
from caremesh_notifications.app import build
from caremesh_notifications.domain import Category, Channel, Rule, appointment_facts
from caremesh_notifications.domain.templates import (
    CEILING,
    KINDS,
    LOCK,
    Audience,
    Catalog,
    Kind,
    Sensitivity,
    Source,
    TemplateCheckError,
    UnknownTemplate,
    localize,
)
from caremesh_notifications.settings import NotificationsSettings

CATALOG = template_files.load().verify()


def booked(start: datetime, service_code: str = "99213") -> AppointmentBooked:
    return AppointmentBooked(
        appointment_id="appt-1",
        patient_id="pat-1",
        practitioner_id="prac-1",
        practitioner_name="Dr Ada Okafor",
        service_code=service_code,
        start=start,
        end=start + timedelta(minutes=30),
    )


def render(
    kind: str,
    event,
    channel: Channel = Channel.EMAIL,
    zone: str = "America/New_York",
    language: str = "en",
    recipient: str = "Amara",
):
    """As the notifier does: the event's facts plus names, shown in the recipient's zone and language."""
    facts = appointment_facts(event) | {"recipient_name": recipient, "patient_name": "Grace"}
    spec = CATALOG.kind(kind)
    variables = localize.variables({k: facts[k] for k in spec.variables}, zone, language)
    return CATALOG.render(kind, channel, variables, language)


# -- what the messages say (as before templates were files) ------------------------------------------


def test_booking_confirmation_in_new_york_summer_uses_edt():
    content = render("appointment.booked", booked(datetime(2026, 7, 15, 13, 30, tzinfo=UTC)))
    assert (content.template, content.version, content.language) == ("appointment.booked", 1, "en")
    assert content.subject == "Your appointment is confirmed"
    assert content.text == (
        "Hello Amara,\n\nYour appointment with Dr Ada Okafor is confirmed for "
        "Wednesday 15 July 2026 at 09:30 EDT.\n\nReference: appt-1\n"
    )
    assert "<strong>Wednesday 15 July 2026 at 09:30 EDT</strong>" in content.html


def test_booking_confirmation_in_new_york_winter_uses_est():
    content = render("appointment.booked", booked(datetime(2026, 1, 15, 14, 30, tzinfo=UTC)))
    assert "Thursday 15 January 2026 at 09:30 EST" in content.text


def test_booking_confirmation_shows_the_local_day_not_the_utc_day():
    # 23:30 UTC on 3 May is 08:30 on 4 May in Tokyo.
    content = render("appointment.booked", booked(datetime(2026, 5, 3, 23, 30, tzinfo=UTC)), zone="Asia/Tokyo")
    assert "Monday 04 May 2026 at 08:30 JST" in content.text
    assert "23:30" not in content.text


def test_booking_confirmation_in_utc():
    content = render("appointment.booked", booked(datetime(2026, 5, 3, 9, 0, tzinfo=UTC)), zone="UTC")
    assert "Sunday 03 May 2026 at 09:00 UTC" in content.text


@pytest.mark.parametrize("channel", list(Channel))
@pytest.mark.parametrize("code", ["99213", "G0008", "0001U"])
def test_no_message_ever_includes_the_service_code(code, channel):
    content = render("appointment.booked", booked(datetime(2026, 7, 15, 13, 30, tzinfo=UTC), code), channel)
    assert code not in content.text + (content.subject or "") + (content.html or "")


def test_decline_notice():
    content = render(
        "appointment.declined",
        AppointmentDeclined(
            appointment_id="appt-1",
            patient_id="pat-1",
            service_code="99213",
            start=datetime(2026, 1, 15, 14, 30, tzinfo=UTC),
            reason_code="service_not_covered",
        ),
    )
    assert content.subject == "We could not confirm your appointment"
    assert content.text.startswith(
        "Hello Amara,\n\nWe could not confirm your appointment request for "
        "Thursday 15 January 2026 at 09:30 EST because"
    )
    assert "insurance coverage" in content.text and content.text.endswith("Reference: appt-1\n")
    assert "99213" not in content.text and "service_not_covered" not in content.text


def test_cancellation_and_no_show_messages_give_the_local_time():
    start = datetime(2026, 7, 15, 13, 30, tzinfo=UTC)
    cancelled = render(
        "appointment.cancelled",
        AppointmentCancelled(
            appointment_id="a1",
            patient_id="p1",
            service_code="99213",
            start=start,
            reason_code="prov",
            cancelled_by_role="staff",
            late=True,
        ),
    )
    missed = render(
        "appointment.no_show",
        AppointmentNoShowRecorded(appointment_id="a1", patient_id="p1", service_code="99213", start=start),
    )
    assert (cancelled.subject, missed.subject) == ("Your appointment has been cancelled", "We missed you today")
    for content in (cancelled, missed):
        assert "Wednesday 15 July 2026 at 09:30 EDT" in content.text and "99213" not in content.text


def test_family_hear_about_the_patient_by_first_name_in_their_own_zone():
    content = render(
        "family.appointment.booked",
        booked(datetime(2026, 7, 15, 13, 30, tzinfo=UTC)),
        zone="Europe/Paris",
        recipient="Ruth",
    )
    assert content.subject == "An appointment for Grace"
    assert content.text.startswith(
        "Hello Ruth,\n\nGrace's appointment with Dr Ada Okafor is confirmed for Wednesday 15 July 2026 at 15:30 CEST."
    )


def test_spanish_templates_and_dates():
    content = render("appointment.booked", booked(datetime(2026, 7, 15, 13, 30, tzinfo=UTC)), language="es")
    assert content.language == "es" and content.subject == "Su cita está confirmada"
    assert "miércoles 15 de julio de 2026, 09:30 (EDT)" in content.text


def test_a_language_we_lack_falls_back_to_its_primary_subtag_then_english():
    assert CATALOG.language_for("appointment.booked", Channel.SMS, "es-MX") == "es"
    assert CATALOG.language_for("appointment.booked", Channel.SMS, "fr") == "en"
    assert CATALOG.language_for("family.appointment.booked", Channel.EMAIL, "es") == "en"  # none in Spanish yet
    assert CATALOG.language_for("appointment.booked", Channel.EMAIL, None) == "en"


def test_html_escapes_what_it_shows_and_text_does_not():
    content = render(
        "appointment.booked", booked(datetime(2026, 7, 15, 13, 30, tzinfo=UTC)), recipient="<b>Eve</b> & co"
    )
    assert "Hello <b>Eve</b> & co," in content.text
    assert "&lt;b&gt;Eve&lt;/b&gt; &amp; co" in content.html and "<b>Eve</b>" not in content.html


def test_sms_and_app_messages_are_short_and_plain():
    event = booked(datetime(2026, 7, 15, 13, 30, tzinfo=UTC))
    sms, app = render("appointment.booked", event, Channel.SMS), render("appointment.booked", event, Channel.WEBHOOK)
    assert sms.text == "Hi Amara, your appointment on Wednesday 15 July 2026 at 09:30 EDT is confirmed. Ref appt-1"
    assert (sms.subject, sms.html) == (None, None)
    assert app.subject == "Appointment confirmed" and app.html is None
    for content in (sms, app):
        assert "Okafor" not in content.text + (content.subject or "")  # the practitioner is CARE: email only


# -- minimum necessary -------------------------------------------------------------------------------


def test_sms_and_lock_screens_may_show_only_plain_facts():
    assert CEILING[Channel.SMS] is Sensitivity.PLAIN and CEILING[Channel.WEBHOOK] is Sensitivity.PLAIN
    for (kind, channel, _, _), src in CATALOG.sources.items():
        used = meta.find_undeclared_variables(CATALOG._env[False].parse(src.text))
        levels = {KINDS[kind].variables[v] for v in used}
        assert max(levels, default=Sensitivity.PLAIN) <= CEILING[channel], src.path


def kind_with(**variables: Sensitivity) -> Kind:
    sample = {"recipient_name": "Amara", "diagnosis": "Type 2 diabetes", "medication": "metformin"}
    return Kind("test.kind", Audience.PATIENT, Rule(Category.CARE_PLAN), variables, {k: sample[k] for k in variables})


def write(root: Path, files: dict[str, str], lock: bool = True) -> Catalog:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    kinds = {"test.kind": kind_with(recipient_name=Sensitivity.PLAIN, diagnosis=Sensitivity.CLINICAL)}
    if lock:
        (root / LOCK).write_text(json.dumps(template_files.load(root, kinds).locked()))
    return template_files.load(root, kinds)


GOOD = {
    "test.kind/email.en.v1.j2": "{% block subject %}News{% endblock %}{% block text %}Hi {{ recipient_name }}, "
    "about {{ diagnosis }}{% endblock %}{% block html %}<p>{{ diagnosis }}</p>"
    "{% endblock %}",
    "test.kind/sms.en.v1.j2": "{% block text %}Hi {{ recipient_name }}, news in your email.{% endblock %}",
    "test.kind/webhook.en.v1.j2": "{% block title %}News{% endblock %}{% block text %}See email{% endblock %}",
}


def test_a_synthetic_catalog_that_follows_the_rules_passes(tmp_path):
    assert write(tmp_path, GOOD).check() == []


def test_a_diagnosis_in_an_sms_template_fails_the_check(tmp_path):
    catalog = write(
        tmp_path, GOOD | {"test.kind/sms.en.v1.j2": "{% block text %}You have {{ diagnosis }}{% endblock %}"}
    )
    [error] = catalog.check()
    assert "test.kind/sms.en.v1.j2" in error and "'diagnosis' is CLINICAL" in error and "minimum necessary" in error


def test_a_diagnosis_on_the_lock_screen_fails_the_check(tmp_path):
    push = "{% block title %}{{ diagnosis }}{% endblock %}{% block text %}x{% endblock %}"
    catalog = write(tmp_path, GOOD | {"test.kind/webhook.en.v1.j2": push})
    assert any("minimum necessary" in e for e in catalog.check())


def test_sms_rendering_never_sees_clinical_variables_even_when_given_them(tmp_path):
    catalog = write(tmp_path, GOOD)
    # A template that slipped past the check: rendering still only hands it the channel's variables.
    catalog.sources[("test.kind", Channel.SMS, "en", 1)] = Source(
        "test.kind", Channel.SMS, "en", 1, "x", "{% block text %}{{ diagnosis }}{% endblock %}"
    )
    with pytest.raises(UndefinedError):
        catalog.render("test.kind", Channel.SMS, {"recipient_name": "A", "diagnosis": "Type 2 diabetes"})


# -- the deploy-time check ------------------------------------------------------------------------


def test_the_shipped_templates_pass_the_check():
    assert template_files.load().check() == []
    assert cli(["check"]) == 0


def test_a_missing_template_is_reported(tmp_path):
    files = {k: v for k, v in GOOD.items() if "sms" not in k}
    assert write(tmp_path, files).check() == ["missing template: test.kind for sms in en"]


def test_an_undeclared_variable_is_reported(tmp_path):
    catalog = write(tmp_path, GOOD | {"test.kind/sms.en.v1.j2": "{% block text %}Hi {{ first_name }}{% endblock %}"})
    assert catalog.check() == ["test.kind/sms.en.v1.j2: unknown variable 'first_name' (not declared for test.kind)"]


def test_a_variable_without_sample_data_fails_under_strict_undefined(tmp_path):
    kinds = {
        "test.kind": Kind(
            "test.kind",
            Audience.PATIENT,
            Rule(Category.CARE_PLAN),
            {"recipient_name": Sensitivity.PLAIN, "diagnosis": Sensitivity.CLINICAL},
            {"recipient_name": "Amara"},
        )
    }
    write(tmp_path, GOOD)
    errors = template_files.load(tmp_path, kinds).check()
    assert errors == ["test.kind/email.en.v1.j2: does not render with the sample data: 'diagnosis' is undefined"]


def test_syntax_errors_and_wrong_blocks_are_reported(tmp_path):
    catalog = write(
        tmp_path,
        GOOD
        | {
            "test.kind/sms.en.v1.j2": "{% block text %}Hi {{ recipient_name }{% endblock %}",
            "test.kind/webhook.en.v1.j2": "{% block text %}x{% endblock %}{% block html %}y{% endblock %}",
        },
    )
    errors = catalog.check()
    assert any(e.startswith("test.kind/sms.en.v1.j2:1:") for e in errors)
    assert "test.kind/webhook.en.v1.j2: missing block(s) title" in errors
    assert "test.kind/webhook.en.v1.j2: unexpected block(s) html" in errors


def test_stray_files_are_reported(tmp_path):
    catalog = write(tmp_path, GOOD | {"test.kind/fax.en.v1.j2": "x", "nokind/email.en.v1.j2": "x"})
    assert sum("not a template of a known kind" in e for e in catalog.check()) == 2


def test_a_released_version_may_not_change_or_disappear(tmp_path):
    write(tmp_path, GOOD)
    (tmp_path / "test.kind/sms.en.v1.j2").write_text("{% block text %}Changed {{ recipient_name }}{% endblock %}")
    kinds = {"test.kind": kind_with(recipient_name=Sensitivity.PLAIN, diagnosis=Sensitivity.CLINICAL)}
    assert template_files.load(tmp_path, kinds).check() == [
        "test.kind/sms.en.v1.j2: changed after release; add the change as a new version instead"
    ]
    (tmp_path / "test.kind/sms.en.v1.j2").unlink()
    errors = template_files.load(tmp_path, kinds).check()
    assert "test.kind/sms.en.v1.j2: released, so it may not be removed (messages name its version)" in errors


def test_a_new_version_is_used_once_locked_and_older_ones_stay_renderable(tmp_path):
    write(tmp_path, GOOD)
    (tmp_path / "test.kind/sms.en.v2.j2").write_text("{% block text %}Hello {{ recipient_name }}!{% endblock %}")
    kinds = {"test.kind": kind_with(recipient_name=Sensitivity.PLAIN, diagnosis=Sensitivity.CLINICAL)}
    unlocked = template_files.load(tmp_path, kinds)
    assert unlocked.check() == [
        "test.kind/sms.en.v2.j2: not in versions.lock; a new version is recorded with `caremesh-templates lock`"
    ]
    (tmp_path / LOCK).write_text(json.dumps(unlocked.locked()))
    catalog = template_files.load(tmp_path, kinds)
    assert catalog.check() == []
    variables = {"recipient_name": "Amara", "diagnosis": "x"}
    assert catalog.render("test.kind", Channel.SMS, variables).version == 2
    assert catalog.render("test.kind", Channel.SMS, variables, version=1).text == "Hi Amara, news in your email."
    with pytest.raises(UnknownTemplate):
        catalog.render("test.kind", Channel.SMS, variables, version=3)


def test_the_cli_fails_on_a_broken_copy_and_locks_new_versions(tmp_path, capsys):
    root = tmp_path / "files"
    shutil.copytree(FILES, root)
    (root / "appointment.booked/sms.en.v2.j2").write_text("{% block text %}Hi {{ recipient_name }}{% endblock %}")
    assert cli(["--root", str(root), "check"]) == 1
    assert "appointment.booked/sms.en.v2.j2: not in versions.lock" in capsys.readouterr().err
    assert cli(["--root", str(root), "lock"]) == 0
    (root / "appointment.booked/sms.en.v1.j2").write_text("{% block text %}{{ practitioner_name }}{% endblock %}")
    assert cli(["--root", str(root), "check"]) == 1
    err = capsys.readouterr().err
    assert "'practitioner_name' is CARE and may not appear in sms" in err and "changed after release" in err


def test_the_service_refuses_to_start_with_a_broken_template(tmp_path):
    root = tmp_path / "files"
    shutil.copytree(FILES, root)
    (root / "appointment.cancelled/email.en.v1.j2").unlink()
    with pytest.raises(TemplateCheckError, match="released, so it may not be removed"):
        build(NotificationsSettings(), catalog=template_files.load(root))
