"""From "tell this patient (and consenting family) about X" to stored messages, one per recipient.

``Notice`` is how any producer asks for messages: the event handlers, the reminder scheduler (one
notice per recipient and reminder, with its time) and the care team's own messages.
``Notifier.next_allowed`` answers a scheduler's "when may this recipient be messaged".
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from caremesh_kit import logs
from caremesh_kit.errors import NotFound, RetryLater, Unprocessable
from caremesh_kit.store import Repository

from caremesh_notifications.delivery import Dispatcher, Outcome
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
    Skip,
    message_id,
    permitted,
    select,
)
from caremesh_notifications.templates import Audience, Catalog, Kind
from caremesh_notifications.templates.localize import variables as localized

log = logs.get("caremesh.notifications")


@dataclass(frozen=True)
class Notice:
    """Something to tell a patient and, for a family kind, the family members whose consent covers it."""

    source: str  # with recipient and channel, the message key: an event id, a reminder's id
    kind: str  # the patient's template kind
    patient_id: str
    facts: dict[str, str | date] = field(default_factory=dict)  # datetimes: shown per recipient
    appointment_id: str | None = None
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


@dataclass
class Notifier:
    contacts: Repository[Contact]
    family: Repository[FamilyMember]
    prefs: Repository[Preferences]
    dispatcher: Dispatcher
    catalog: Catalog

    async def notify(self, notice: Notice) -> list[Result]:
        """Store the messages this notice calls for (once, however often it comes) and send those due."""
        return await self.deliver((await self.plan(notice)).messages)

    async def deliver(self, placed: list[Placed]) -> list[Result]:
        return [await self.dispatcher.deliver(m, permitted=fresh) for m, fresh in placed]

    async def plan(self, notice: Notice) -> Planned:
        """The message heading each recipient's chain, and who was left out."""
        patient, chosen, skipped = await self.addressees(notice)
        now = datetime.now(UTC)
        planned = []
        for kind, a in chosen:
            if (placed := await self.place(notice, kind, patient, a, now)) is None:
                skipped[Skip.TOO_LATE] = skipped.get(Skip.TOO_LATE, 0) + 1
            else:
                planned.append(placed)
        return Planned(planned, skipped)

    async def addressees(self, notice: Notice) -> tuple[Contact, list[tuple[Kind, Addressee]], dict[Skip, int]]:
        """The patient record, whom to tell (by consent, opt-outs and channels) and how many were left out."""
        patient = await self.patient(notice.patient_id)
        groups: list[tuple[Kind, list[Recipient]]] = []
        if notice.to_patient:
            groups.append((self.catalog.kind(notice.kind), [patient]))
        if notice.family_kind:
            family_kind = self.catalog.kind(notice.family_kind)
            if family_kind.audience is not Audience.FAMILY:
                raise ValueError(f"{notice.family_kind} is not a kind for family members")
            members = [m for m in await self.family_of(patient.id)
                       if notice.family_ids is None or m.id in notice.family_ids]
            groups.append((family_kind, list(members)))
        prefs = await self.preferences_of([r.id for _, rs in groups for r in rs])
        chosen: list[tuple[Kind, Addressee]] = []
        skipped: dict[Skip, int] = {}
        for kind, recipients in groups:
            picked, left_out = select(kind.rule_for(notice.category), recipients, prefs, self.dispatcher.available)
            if left_out:  # counts only: who they are stays out of the logs
                logs.info(log, "recipients left out", kind=kind.name, **{k.value: n for k, n in left_out.items()})
            chosen += [(kind, a) for a in picked]
            for why, n in left_out.items():
                skipped[why] = skipped.get(why, 0) + n
        return patient, chosen, skipped

    async def place(self, notice: Notice, kind: Kind, patient: Contact, a: Addressee, now: datetime) -> Placed | None:
        """The head of this recipient's chain for the notice: found, or composed and stored; None when
        their quiet hours last until the notice is pointless (``until``)."""
        if (existing := await self._chain_head(notice.source, a.recipient.id)) is not None:
            return existing, False
        composed = self._compose(notice, kind, patient, a.recipient, a.prefs, a.routes, now)
        if composed is None:
            return None
        stored = await self.dispatcher.store(composed)
        return stored, stored is composed

    def _compose(self, notice: Notice, kind: Kind, patient: Contact, r: Recipient, prefs: Preferences | None,
                 routes: list, now: datetime) -> Message | None:
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
        return Message.compose(
            message_id(notice.source, r.id, first.channel), r, notice.appointment_id, content, now, route=first,
            source=notice.source, category=rule.category, variables=variables, fallbacks=routes[1:],
            not_before=allowed if allowed > now or notice.swept else None, sent_by=notice.sent_by)

    async def _chain_head(self, source: str, recipient_id: str) -> Message | None:
        """The first message for this source and recipient on any channel: a redelivery continues
        that chain even if the recipient's channels changed since."""
        repo = self.dispatcher.messages.repo
        for channel in Channel:  # by _id: the store's primary key (a filter on other fields would scan)
            msg_id = message_id(source, recipient_id, channel)
            doc = await repo.collection.find_one({"_id": msg_id}, {"replaces": 1})
            if doc is not None and doc.get("replaces") is None:
                return await repo.find(msg_id)
        return None

    async def patient(self, patient_id: str) -> Contact:
        contact = await self.contacts.find(patient_id)
        if contact is not None and contact.merged_into:
            contact = await self.contacts.find(contact.merged_into)  # the record that stayed
        if contact is None:
            # records' registration event may still be on its way
            raise RetryLater("no contact details for the patient yet")
        return contact

    async def family_of(self, patient_id: str) -> list[FamilyMember]:
        cursor = self.family.collection.find({"patient_id": patient_id})
        return [FamilyMember.from_document(d) async for d in cursor]  # type: ignore[misc]

    async def preferences_of(self, recipient_ids: list[str]) -> dict[str, Preferences]:
        found = {}
        for rid in recipient_ids:
            if (p := await self.prefs.find(rid)) is not None:
                found[rid] = p
        return found

    async def recipient(self, recipient_id: str) -> Recipient | None:
        return await self.contacts.find(recipient_id) or await self.family.find(recipient_id)

    async def next_allowed(self, recipient_id: str, at: datetime) -> datetime:
        """When this recipient may be messaged, at ``at`` or later (their quiet hours, in their zone)."""
        r = await self.recipient(recipient_id)
        if r is None:
            raise NotFound(f"no recipient {recipient_id}")
        prefs = await self.prefs.find(recipient_id)
        return prefs.next_allowed(at, r.time_zone) if prefs else at

    async def gate(self, message: Message) -> str | None:
        """Checked before every send: a held message must not outlive a consent withdrawal or an opt-out."""
        if message.template not in self.catalog.kinds:
            return None
        r = await self.recipient(message.recipient)
        if r is None:
            return None
        rule = self.catalog.kind(message.template).rule_for(message.category)
        why = permitted(rule, r, await self.prefs.find(r.id))
        return why.value if why else None


def settle(results: list[Result]) -> None:
    """An event is done once each of its messages went out, waits for its time, or was cancelled;
    retried while any failed for now; dead-lettered (with the reasons) when one failed on every route."""
    if any(o in (Outcome.RETRY, Outcome.BUSY) for o, _ in results):
        raise RetryLater("a message could not be sent yet")
    failed = [m for o, m in results if o is Outcome.FAILED and m.status is MessageStatus.FAILED]
    if failed:
        raise Unprocessable("not delivered on any channel: " +
                            "; ".join(f"message {m.id} ({m.failure})" for m in failed))
