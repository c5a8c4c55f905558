"""From "tell this patient (and consenting family) about X" to stored messages, one per recipient.

``Notice`` is how any producer asks for messages: the event handlers, the reminder scheduler (one
notice per recipient and reminder, with its time) and the care team's own messages.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from caremesh_kit import logs
from caremesh_kit.clock import Clock
from caremesh_kit.errors import RetryLater, Unprocessable
from caremesh_kit.store import Repository
from caremesh_notifications import store
from caremesh_notifications.domain import (
    Addressee,
    Category,
    Channel,
    Contact,
    FamilyMember,
    Message,
    MessageStatus,
    Preferences,
    Recipient,
    Route,
    Skip,
    message_id,
    select,
)
from caremesh_notifications.domain.templates import Audience, Catalog, Kind
from caremesh_notifications.domain.templates.localize import variables as localized
from caremesh_notifications.usecases.delivery import Dispatcher, Outcome
from caremesh_notifications.usecases.tasks import concurrently

log = logs.get("caremesh.notifications")


@dataclass(frozen=True)
class Notice:
    """Something to tell a patient and, for a family kind, the family members whose consent covers it."""

    source: str  # with recipient and channel, the message key: an event id, a reminder's id
    kind: str  # the patient's template kind
    patient_id: str
    facts: dict[str, str | date] = field(default_factory=dict)  # datetimes: shown per recipient
    appointment_id: str | None = None
    plan: int | None = None  # the appointment's plan (its time) the notice is true of, for the supersede rule
    family_kind: str | None = None
    at: datetime | None = None  # not before this (a reminder's time); quiet hours push it later
    until: datetime | None = None  # pointless from then on (the visit, an offer's end): skip who must wait past it
    category: Category | None = None  # for a kind whose category the sender chooses (a care team message)
    to_patient: bool = True
    family_ids: frozenset[str] | None = None  # only these family members (still by consent); None: all
    swept: bool = False  # no event will retry it (an API request): the due sweep does, so it is always held
    sent_by: str | None = None


Result = tuple[Outcome, Message]
Placed = tuple[Message, bool]  # the chain's head, and whether it was composed (and permitted) just now


@dataclass
class Planned:
    messages: list[Placed]
    skipped: dict[Skip, int]  # recipients left out, by reason (counts only)


@dataclass(frozen=True)
class Household:
    """Who may be told about a patient: their contact (the record that stayed, after a merge), their
    family members and everyone's stored preferences. Read once, in concurrent queries, for all the
    messages one handler composes (a confirmation and its reminders)."""

    patient: Contact
    family: list[FamilyMember]
    prefs: dict[str, Preferences]


class Heads:
    """The messages already stored for the sources at hand (read in one query), so each recipient's
    chain head is found without a read per message and channel."""

    def __init__(self, messages: Iterable[Message] = ()) -> None:
        self.by_id = {m.id: m for m in messages}

    def head(self, source: str, recipient_id: str) -> Message | None:
        """The first message for this source and recipient on any channel: a redelivery continues
        that chain even if the recipient's channels changed since."""
        for channel in Channel:
            found = self.by_id.get(message_id(source, recipient_id, channel))
            if found is not None and found.replaces is None:
                return found
        return None


@dataclass
class Prepared:
    """What notices call for, before anything is stored: the chain heads found and the messages composed."""

    found: list[Message] = field(default_factory=list)
    composed: list[Message] = field(default_factory=list)
    skipped: dict[Skip, int] = field(default_factory=dict)

    def skip(self, why: Skip, n: int = 1) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + n


@dataclass
class Notifier:
    contacts: Repository[Contact]
    family: Repository[FamilyMember]
    prefs: Repository[Preferences]
    dispatcher: Dispatcher
    catalog: Catalog
    clock: Clock

    async def notify(self, notice: Notice) -> list[Result]:
        """Store the messages this notice calls for (once, however often it comes) and send those due."""
        return await self.deliver((await self.plan(notice)).messages)

    async def deliver(self, placed: list[Placed]) -> list[Result]:
        """Each message at once (to the patient and each family member). A message composed just now
        was stored claimed if due: this consumer holds its send lease already."""
        return await concurrently(
            *(
                self.dispatcher.deliver(m, permitted=fresh, claimed=fresh and m.status is MessageStatus.SENDING)
                for m, fresh in placed
            )
        )

    async def plan(self, notice: Notice) -> Planned:
        """The message heading each recipient's chain, and who was left out."""
        household = await self.household(notice.patient_id, family=notice.family_kind is not None)
        selected = self.addressees(notice, household)
        stored = await self.dispatcher.messages.of_source(household.patient.id, notice.source) if selected[0] else []
        return await self.place([self.prepare(notice, household, Heads(stored), self.clock(), selected)])

    async def place(self, prepared: list[Prepared]) -> Planned:
        """Store every message composed for these notices in one write; with the heads found, the chains
        to deliver. Where a concurrent consumer stored one first, theirs is the head (not fresh)."""
        composed = [m for p in prepared for m in p.composed]
        stored = await self.dispatcher.store_all(composed)
        placed: list[Placed] = [(m, False) for p in prepared for m in p.found]
        placed += [(s, s is c) for s, c in zip(stored, composed, strict=True)]
        skipped: dict[Skip, int] = {}
        for p in prepared:
            for why, n in p.skipped.items():
                skipped[why] = skipped.get(why, 0) + n
        return Planned(placed, skipped)

    def prepare(
        self,
        notice: Notice,
        household: Household,
        heads: Heads,
        now: datetime,
        selected: tuple[list[tuple[Kind, Addressee]], dict[Skip, int]] | None = None,
    ) -> Prepared:
        """Each chosen recipient's chain head for the notice: found in ``heads``, or composed."""
        chosen, skipped = selected or self.addressees(notice, household)
        out = Prepared(skipped=dict(skipped))
        for kind, a in chosen:
            if not self.prepare_for(out, notice, kind, household.patient, a, heads, now):
                out.skip(Skip.TOO_LATE)
        return out

    def prepare_for(
        self, out: Prepared, notice: Notice, kind: Kind, patient: Contact, a: Addressee, heads: Heads, now: datetime
    ) -> bool:
        """This recipient's chain head, found or composed, added to ``out``; False when their quiet hours
        last until the notice is pointless (``until``)."""
        if (existing := heads.head(notice.source, a.recipient.id)) is not None:
            out.found.append(existing)
            return True
        composed = self._compose(notice, kind, patient, a.recipient, a.prefs, a.routes, now)
        if composed is None:
            return False
        out.composed.append(composed)
        return True

    def addressees(self, notice: Notice, household: Household) -> tuple[list[tuple[Kind, Addressee]], dict[Skip, int]]:
        """Whom to tell (by consent, opt-outs and channels) and how many were left out."""
        patient = household.patient
        groups: list[tuple[Kind, list[Recipient]]] = []
        if notice.to_patient:
            groups.append((self.catalog.kind(notice.kind), [patient]))
        if notice.family_kind:
            family_kind = self.catalog.kind(notice.family_kind)
            if family_kind.audience is not Audience.FAMILY:
                raise ValueError(f"{notice.family_kind} is not a kind for family members")
            members = [m for m in household.family if notice.family_ids is None or m.id in notice.family_ids]
            groups.append((family_kind, list(members)))
        chosen: list[tuple[Kind, Addressee]] = []
        skipped: dict[Skip, int] = {}
        for kind, recipients in groups:
            picked, left_out = select(
                kind.rule_for(notice.category), recipients, household.prefs, self.dispatcher.available
            )
            if left_out:  # counts only: who they are stays out of the logs
                logs.info(log, "recipients left out", kind=kind.name, **{k.value: n for k, n in left_out.items()})
            chosen += [(kind, a) for a in picked]
            for why, n in left_out.items():
                skipped[why] = skipped.get(why, 0) + n
        return chosen, skipped

    def _compose(
        self,
        notice: Notice,
        kind: Kind,
        patient: Contact,
        r: Recipient,
        prefs: Preferences | None,
        routes: list[Route],
        now: datetime,
    ) -> Message | None:
        first = routes[0]
        language = self.catalog.language_for(kind.name, first.channel, prefs.language if prefs else None)
        facts = notice.facts | {"recipient_name": r.given_name, "patient_name": patient.given_name}
        if missing := sorted(set(kind.variables) - set(facts)):
            raise Unprocessable(f"{kind.name} needs facts the notice lacks: {', '.join(missing)}")
        zone = prefs.time_zone if prefs and prefs.time_zone else r.time_zone
        variables = localized({k: facts[k] for k in kind.variables}, zone, language)
        content = self.catalog.render(kind.name, first.channel, variables, language)
        rule = kind.rule_for(notice.category)
        at = max(notice.at or now, now)
        allowed = at if rule.required or prefs is None else prefs.next_allowed(at, r.time_zone)
        if notice.until is not None and allowed >= notice.until:
            return None
        message = Message.compose(
            message_id(notice.source, r.id, first.channel),
            r,
            notice.appointment_id,
            content,
            now,
            route=first,
            source=notice.source,
            category=rule.category,
            variables=variables,
            fallbacks=routes[1:],
            not_before=allowed if allowed > now or notice.swept else None,
            sent_by=notice.sent_by,
            appointment_plan=notice.plan,
        )
        if message.due(now):
            # Sent by whoever composes it, right after storing it: stored claimed, so the claim is no
            # extra write. If the sender dies before sending, the lease lapses and a redelivery sends it.
            message.claim(now)
        return message

    async def household(self, patient_id: str, family: bool = True) -> Household:
        """The patient's contact (following a merge), with their family members if ``family``, and the
        preferences of them all; RetryLater while records' registration has not arrived."""
        contact, members, prefs = await concurrently(
            self.contacts.find(patient_id), self._family(patient_id, family), self._preferences(patient_id, family)
        )
        if contact is not None and contact.merged_into:  # the record that stayed
            contact, members, prefs = await concurrently(
                self.contacts.find(contact.merged_into),
                self._family(contact.merged_into, family),
                self._preferences(contact.merged_into, family),
            )
        if contact is None:
            # records' registration event may still be on its way
            raise RetryLater("no contact details for the patient yet")
        return Household(contact, members, prefs)

    async def _family(self, patient_id: str, wanted: bool) -> list[FamilyMember]:
        return await self.family_of(patient_id) if wanted else []

    async def _preferences(self, patient_id: str, family: bool) -> dict[str, Preferences]:
        """The patient's preferences, and with ``family`` their family members' too (all carry the
        patient's id): one query either way."""
        if not family:
            found = await self.prefs.find(patient_id)
            return {patient_id: found} if found is not None else {}
        return await store.household_preferences(self.prefs, patient_id)

    async def family_of(self, patient_id: str) -> list[FamilyMember]:
        return await store.family_of(self.family, patient_id)


def settle(results: list[Result]) -> None:
    """An event is done once each of its messages went out, waits for its time, or was cancelled;
    retried while any failed for now; dead-lettered (with the reasons) when one failed on every route."""
    if any(o in (Outcome.RETRY, Outcome.BUSY) for o, _ in results):
        raise RetryLater("a message could not be sent yet")
    failed = [m for o, m in results if o is Outcome.FAILED and m.status is MessageStatus.FAILED]
    if failed:
        raise Unprocessable(
            "not delivered on any channel: " + "; ".join(f"message {m.id} ({m.failure})" for m in failed)
        )
