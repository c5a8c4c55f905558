"""The kinds of message there are: who they go to, what they may say, and sample data for the checks.

A kind names a folder of Jinja2 templates (``files/<kind>/<channel>.<language>.v<N>.j2``). Each
variable has a sensitivity, and each channel a ceiling: SMS and the app (whose notifications show
on lock screens) get only ``PLAIN`` facts, never clinical ones (minimum necessary).
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum

from caremesh_notifications.domain import Category, Channel, Rule


class Sensitivity(IntEnum):
    PLAIN = 1  # names of the recipient and patient, times, references
    CARE = 2  # who provides care (practitioner, location): says something about the patient's care
    CLINICAL = 3  # diagnoses, medications, services: never on SMS or a lock screen


# The highest sensitivity each channel may show.
CEILING = {Channel.EMAIL: Sensitivity.CLINICAL, Channel.SMS: Sensitivity.PLAIN, Channel.WEBHOOK: Sensitivity.PLAIN}

# The Jinja blocks each channel's template must define, and nothing else.
PARTS = {Channel.EMAIL: ("subject", "text", "html"), Channel.SMS: ("text",), Channel.WEBHOOK: ("title", "text")}

SMS_MAX_CHARS = 320  # two concatenated segments, checked on the sample data

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
    sample: dict[str, str | datetime] = field(default_factory=dict)
    sample_zone: str = "America/New_York"

    def allowed(self, channel: Channel) -> set[str]:
        return {name for name, s in self.variables.items() if s <= CEILING[channel]}


_RECIPIENT = {"recipient_name": Sensitivity.PLAIN}
_VISIT = {"when": Sensitivity.PLAIN, "reference": Sensitivity.PLAIN}
_SAMPLE = {"recipient_name": "Amara", "patient_name": "Grace", "practitioner_name": "Dr Ada Okafor",
           "when": datetime(2030, 1, 15, 14, 30, tzinfo=UTC), "reference": "3f1c2a9e-5b7d-4e21-9c3a-8d2f6b1e0a47"}


def _kind(name: str, audience: Audience, rule: Rule, variables: dict[str, Sensitivity]) -> Kind:
    return Kind(name, audience, rule, variables, {k: _SAMPLE[k] for k in variables})


_APPOINTMENTS = Category.APPOINTMENTS
KINDS: dict[str, Kind] = {k.name: k for k in (
    _kind("appointment.booked", Audience.PATIENT, Rule(_APPOINTMENTS),
          _RECIPIENT | _VISIT | {"practitioner_name": Sensitivity.CARE}),
    # The patient must learn that a visit will not happen: not opt-out-able.
    _kind("appointment.declined", Audience.PATIENT, Rule(_APPOINTMENTS, required=True), _RECIPIENT | _VISIT),
    _kind("appointment.cancelled", Audience.PATIENT, Rule(_APPOINTMENTS, required=True), _RECIPIENT | _VISIT),
    _kind("appointment.no_show", Audience.PATIENT, Rule(_APPOINTMENTS), _RECIPIENT | _VISIT),
    _kind("family.appointment.booked", Audience.FAMILY, Rule(_APPOINTMENTS, consent="appointments"),
          _RECIPIENT | _VISIT | {"patient_name": Sensitivity.PLAIN, "practitioner_name": Sensitivity.CARE}),
    _kind("family.appointment.cancelled", Audience.FAMILY, Rule(_APPOINTMENTS, consent="appointments"),
          _RECIPIENT | _VISIT | {"patient_name": Sensitivity.PLAIN}),
)}
