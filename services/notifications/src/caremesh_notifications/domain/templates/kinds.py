"""The kinds of message there are: who they go to, what they may say, and sample data for the checks.

A kind names a folder of Jinja2 templates (``adapters/templates/files/<kind>/<channel>.<language>.v<N>.j2``). Each
variable has a sensitivity, and each channel a ceiling: SMS and the app (whose notifications show
on lock screens) get only ``PLAIN`` facts, never clinical ones (minimum necessary).
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import IntEnum

from caremesh_kit import links
from caremesh_notifications.domain.preferences import Category, Channel
from caremesh_notifications.domain.recipients import Rule


class Sensitivity(IntEnum):
    PLAIN = 1  # names of the recipient and patient, times, references
    CARE = 2  # who provides care (practitioner, location): says something about the patient's care
    CLINICAL = 3  # diagnoses, medications, services: never on SMS or a lock screen


# The highest sensitivity each channel may show.
CEILING = {Channel.EMAIL: Sensitivity.CLINICAL, Channel.SMS: Sensitivity.PLAIN, Channel.WEBHOOK: Sensitivity.PLAIN}

# The Jinja blocks each channel's template must define, and nothing else.
PARTS = {Channel.EMAIL: ("subject", "text", "html"), Channel.SMS: ("text",), Channel.WEBHOOK: ("title", "text")}

SMS_MAX_CHARS = 320  # two concatenated segments, checked on the sample data
SMS_MAX_WITH_LINKS = 480  # three segments, for the kinds that must carry links (accept and decline)

DEFAULT_LANGUAGE = "en"  # every kind has every channel in this language


class Audience(IntEnum):
    PATIENT = 1
    FAMILY = 2  # family members and caregivers whose consent covers the kind


@dataclass(frozen=True)
class Kind:
    name: str
    audience: Audience
    rule: Rule
    variables: dict[str, Sensitivity]
    # Facts for previews and the deploy-time check; datetimes are shown in ``sample_zone``.
    sample: dict[str, str | date] = field(default_factory=dict)
    sample_zone: str = "America/New_York"
    # The sender chooses the category (a care team member's own message); consent and opt-outs follow it.
    open_category: bool = False
    sms_max_chars: int = SMS_MAX_CHARS

    def allowed(self, channel: Channel) -> set[str]:
        return {name for name, s in self.variables.items() if s <= CEILING[channel]}

    def rule_for(self, category: Category | str | None) -> Rule:
        """The rule a message of this kind follows; for an open category, the one it was sent under."""
        if not self.open_category or category is None:
            return self.rule
        return Rule(Category(category), consent=Category(category).value)


_RECIPIENT = {"recipient_name": Sensitivity.PLAIN}
_VISIT = {"when": Sensitivity.PLAIN, "reference": Sensitivity.PLAIN}
_FAMILY = {"patient_name": Sensitivity.PLAIN}
_PRACTITIONER = {"practitioner_name": Sensitivity.CARE}
_SAMPLE_SECRET = "sample-secret-for-previews-0123456789abcdef"  # only for realistic link lengths
_OFFER_LINKS = links.offer_links(
    "https://scheduling.example.org",
    _SAMPLE_SECRET,
    "5b0e7c1a-2f4d-4c8e-9a61-3d7f2b8c9e10",
    datetime(2030, 1, 13, 17, tzinfo=UTC),
)
_SAMPLE: dict[str, str | date] = {
    "recipient_name": "Amara",
    "patient_name": "Grace",
    "practitioner_name": "Dr Ada Okafor",
    "when": datetime(2030, 1, 15, 14, 30, tzinfo=UTC),
    "reference": "3f1c2a9e-5b7d-4e21-9c3a-8d2f6b1e0a47",
    "previous_when": datetime(2030, 1, 14, 16, 0, tzinfo=UTC),
    "expires": datetime(2030, 1, 13, 17, 0, tzinfo=UTC),
    "accept_url": _OFFER_LINKS[links.OfferAction.ACCEPT],
    "decline_url": _OFFER_LINKS[links.OfferAction.DECLINE],
    "survey_url": links.survey_link(
        "https://notifications.example.org",
        _SAMPLE_SECRET,
        "9d3e2f41-7a6b-5c8d-9e0f-1a2b3c4d5e6f",
        datetime(2030, 2, 14, tzinfo=UTC),
    ),
    "authorization_number": "PA2030000123",
    "units": "6",
    "partial": "no",
    "valid_from": date(2030, 1, 15),
    "valid_to": date(2030, 4, 15),
    "reason": "Your plan covers this service after six weeks of physical therapy have been tried.",
    "appealable": "yes",
    "subject": "Before your visit next week",
    "text": "Please bring your insurance card and a list of the medicines you take.",
    "short_text": "Please bring your insurance card to your next visit.",
}


def _kind(
    name: str,
    audience: Audience,
    rule: Rule,
    variables: dict[str, Sensitivity],
    *,
    open_category: bool = False,
    sms_max_chars: int = SMS_MAX_CHARS,
) -> Kind:
    sample = {k: _SAMPLE[k] for k in variables}
    return Kind(name, audience, rule, variables, sample, open_category=open_category, sms_max_chars=sms_max_chars)


_APPOINTMENTS, _REMINDERS, _INSURANCE = Category.APPOINTMENTS, Category.REMINDERS, Category.INSURANCE
# Authorization decisions: the payer's reason may name the service, so it is for email only.
_AUTH = _RECIPIENT | {"reference": Sensitivity.PLAIN}
_APPROVED = _AUTH | {
    "authorization_number": Sensitivity.PLAIN,
    "units": Sensitivity.PLAIN,
    "partial": Sensitivity.PLAIN,
    "valid_from": Sensitivity.PLAIN,
    "valid_to": Sensitivity.PLAIN,
}
_DENIED = _AUTH | {"reason": Sensitivity.CARE, "appealable": Sensitivity.PLAIN}
# A care team member's own words may say anything: email only. ``short_text`` is what they wrote for
# SMS and lock screens (may be empty: the template then says only that a message is waiting).
_OWN_WORDS = _RECIPIENT | {"subject": Sensitivity.CARE, "text": Sensitivity.CLINICAL, "short_text": Sensitivity.PLAIN}

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        _kind("appointment.booked", Audience.PATIENT, Rule(_APPOINTMENTS), _RECIPIENT | _VISIT | _PRACTITIONER),
        # The patient must learn that a visit will not happen, or not when they thought: not opt-out-able.
        _kind("appointment.declined", Audience.PATIENT, Rule(_APPOINTMENTS, required=True), _RECIPIENT | _VISIT),
        _kind("appointment.cancelled", Audience.PATIENT, Rule(_APPOINTMENTS, required=True), _RECIPIENT | _VISIT),
        _kind(
            "appointment.rescheduled",
            Audience.PATIENT,
            Rule(_APPOINTMENTS, required=True),
            _RECIPIENT | _VISIT | _PRACTITIONER | {"previous_when": Sensitivity.PLAIN},
        ),
        _kind("appointment.no_show", Audience.PATIENT, Rule(_APPOINTMENTS), _RECIPIENT | _VISIT),
        _kind("appointment.reminder", Audience.PATIENT, Rule(_REMINDERS), _RECIPIENT | _VISIT | _PRACTITIONER),
        _kind(
            "family.appointment.booked",
            Audience.FAMILY,
            Rule(_APPOINTMENTS, consent="appointments"),
            _RECIPIENT | _VISIT | _FAMILY | _PRACTITIONER,
        ),
        _kind(
            "family.appointment.cancelled",
            Audience.FAMILY,
            Rule(_APPOINTMENTS, consent="appointments"),
            _RECIPIENT | _VISIT | _FAMILY,
        ),
        _kind(
            "family.appointment.rescheduled",
            Audience.FAMILY,
            Rule(_APPOINTMENTS, consent="appointments"),
            _RECIPIENT | _VISIT | _FAMILY | {"previous_when": Sensitivity.PLAIN},
        ),
        _kind(
            "family.appointment.reminder",
            Audience.FAMILY,
            Rule(_REMINDERS, consent="appointments"),
            _RECIPIENT | _VISIT | _FAMILY | _PRACTITIONER,
        ),
        _kind(
            "waitlist.offer",
            Audience.PATIENT,
            Rule(_APPOINTMENTS),
            _RECIPIENT
            | _PRACTITIONER
            | {
                "when": Sensitivity.PLAIN,
                "expires": Sensitivity.PLAIN,
                "accept_url": Sensitivity.PLAIN,
                "decline_url": Sensitivity.PLAIN,
            },
            sms_max_chars=SMS_MAX_WITH_LINKS,
        ),
        _kind("authorization.required", Audience.PATIENT, Rule(_INSURANCE), _AUTH),
        _kind("authorization.approved", Audience.PATIENT, Rule(_INSURANCE), _APPROVED),
        _kind("authorization.denied", Audience.PATIENT, Rule(_INSURANCE), _DENIED),
        _kind(
            "family.authorization.approved", Audience.FAMILY, Rule(_INSURANCE, consent="insurance"), _APPROVED | _FAMILY
        ),
        _kind("family.authorization.denied", Audience.FAMILY, Rule(_INSURANCE, consent="insurance"), _DENIED | _FAMILY),
        _kind(
            "survey.invitation",
            Audience.PATIENT,
            Rule(Category.SURVEYS),
            _RECIPIENT | _PRACTITIONER | {"when": Sensitivity.PLAIN, "survey_url": Sensitivity.PLAIN},
        ),
        _kind("care_team.message", Audience.PATIENT, Rule(_APPOINTMENTS), _OWN_WORDS, open_category=True),
        _kind(
            "family.care_team.message",
            Audience.FAMILY,
            Rule(_APPOINTMENTS, consent="appointments"),
            _OWN_WORDS | _FAMILY,
            open_category=True,
        ),
    )
}
