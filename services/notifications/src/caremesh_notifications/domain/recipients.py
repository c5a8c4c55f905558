"""Who may be told what, and on which channels: contacts, family by consent, preferences. Pure Python."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from caremesh_contracts import ConsentChanged, PatientRegistered, RelatedPersonAdded
from caremesh_kit.aggregate import Aggregate
from caremesh_notifications.domain.preferences import DEFAULT_CHANNELS, Category, Channel, Preferences


class Contact(Aggregate):
    """Notifications' own copy of a patient's contact details; its id is the patient id."""

    given_name: str
    email: str | None
    phone: str | None
    time_zone: str
    merged_into: str | None = None  # records found this patient to be a duplicate of another

    @classmethod
    def from_registration(cls, e: PatientRegistered) -> "Contact":
        return cls(id=e.patient_id, given_name=e.given_name, email=e.email, phone=e.phone, time_zone=e.time_zone)

    def merge_into(self, patient_id: str) -> bool:
        if self.merged_into == patient_id:
            return False
        self.merged_into = patient_id
        return True

    @property
    def patient_id(self) -> str:
        return self.id


class FamilyMember(Aggregate):
    """A patient's family member or caregiver, and what they may receive; the id is records'."""

    patient_id: str
    given_name: str
    relationship: str
    email: str | None
    phone: str | None
    time_zone: str
    categories: list[str] = Field(default_factory=list)
    consent_changed_at: datetime | None = None

    @classmethod
    def from_event(cls, e: RelatedPersonAdded) -> "FamilyMember":
        return cls(
            id=e.related_person_id,
            patient_id=e.patient_id,
            given_name=e.given_name,
            relationship=e.relationship,
            email=e.email,
            phone=e.phone,
            time_zone=e.time_zone,
        )

    def apply_consent(self, e: ConsentChanged) -> bool:
        """Later consent wins; an older change delivered late (or twice) changes nothing."""
        if self.consent_changed_at is not None and e.changed_at <= self.consent_changed_at:
            return False
        self.categories, self.consent_changed_at = list(e.categories), e.changed_at
        return True

    def may_receive(self, category: str) -> bool:
        return category in self.categories


Recipient = Contact | FamilyMember


def is_patient(r: Recipient) -> bool:
    return isinstance(r, Contact)


class Route(BaseModel):
    """One way to reach a recipient: a channel and its address (for the app, the recipient id)."""

    channel: Channel
    to: str


def routes(recipient: Recipient, prefs: Preferences | None, available: set[Channel]) -> list[Route]:
    """The recipient's channels in their order of preference, kept where we have an address."""
    out = []
    for channel in prefs.channels if prefs else DEFAULT_CHANNELS:
        address = {Channel.EMAIL: recipient.email, Channel.SMS: recipient.phone, Channel.WEBHOOK: recipient.id}[channel]
        if channel in available and address:
            out.append(Route(channel=channel, to=address))
    return out


class Skip(StrEnum):
    """Why a recipient gets nothing; logged as a count, never with who it was."""

    NO_CONSENT = "no_consent"
    OPTED_OUT = "opted_out"
    NO_CHANNEL = "no_channel"
    TOO_LATE = "too_late"  # quiet hours last past the point of it (the visit, an offer's expiry)


@dataclass(frozen=True)
class Rule:
    """What a message kind needs before it may go to someone."""

    category: Category
    required: bool = False  # the law or safety requires it: sent despite an opt-out
    consent: str | None = None  # the consent category (records') a family member must have given


def permitted(rule: Rule, recipient: Recipient, prefs: Preferences | None) -> Skip | None:
    """None when the recipient may be sent a message of this kind; else why not.

    Consent is never overridden, not even for a required message: family members hear only
    what the patient allowed. Opt-outs are overridden by ``required``.
    """
    if isinstance(recipient, FamilyMember) and (rule.consent is None or not recipient.may_receive(rule.consent)):
        return Skip.NO_CONSENT
    return opt_out(rule, prefs)


def opt_out(rule: Rule, prefs: Preferences | None) -> Skip | None:
    """The recipient's own opt-outs, overridden by ``required``: for the patient, all ``permitted`` checks."""
    if prefs is not None and prefs.opted_out(rule.category) and not rule.required:
        return Skip.OPTED_OUT
    return None


@dataclass(frozen=True)
class Addressee:
    recipient: Recipient
    prefs: Preferences | None
    routes: list[Route]


def select(
    rule: Rule, recipients: list[Recipient], prefs: dict[str, Preferences], available: set[Channel]
) -> tuple[list[Addressee], dict[Skip, int]]:
    """Whom to tell, with their routes in order, and how many were left out for each reason."""
    chosen: list[Addressee] = []
    skipped: dict[Skip, int] = {}
    for r in recipients:
        p = prefs.get(r.id)
        why = permitted(rule, r, p)
        ways = routes(r, p, available) if why is None else []
        if why is None and not ways:
            why = Skip.NO_CHANNEL
        if why is not None:
            skipped[why] = skipped.get(why, 0) + 1
            continue
        chosen.append(Addressee(r, p, ways))
    return chosen, skipped
