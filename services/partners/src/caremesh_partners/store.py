"""The gateway's collections: partners, subscriptions, deliveries (the delivery log), what it has
learnt from events about their relations (coverages, authorizations, referrals), and its place
in the event log."""

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from caremesh_kit.runtime import Runtime
from caremesh_kit.store import Repository
from caremesh_partners.domain import Delivery, DeliveryStatus, Facts, Partner, Subscription

Doc = dict[str, Any]


def partners(runtime: Runtime) -> Repository[Partner]:
    return runtime.repository("partners", Partner)


def subscriptions(runtime: Runtime) -> Repository[Subscription]:
    return runtime.repository("subscriptions", Subscription, [IndexModel([("partner_id", ASCENDING)])])


class Deliveries:
    def __init__(self, runtime: Runtime) -> None:
        self.subscriptions: AsyncCollection[Doc] = runtime.store.db["subscriptions"]
        self.partners: AsyncCollection[Doc] = runtime.store.db["partners"]
        self.repo: Repository[Delivery] = runtime.repository(
            "deliveries",
            Delivery,
            [
                IndexModel([("status", ASCENDING), ("next_attempt_at", ASCENDING)]),
                IndexModel([("subscription_id", ASCENDING), ("offset", DESCENDING)]),
                IndexModel([("subscription_id", ASCENDING), ("ordering_key", ASCENDING), ("offset", ASCENDING)]),
            ],
        )

    async def paused(self) -> dict[str, list[str]]:
        """Whose deliveries wait: subscriptions that are off, partners that are suspended."""
        subs = self.subscriptions.find({"status": {"$ne": "active"}}, {"_id": 1})
        partners = self.partners.find({"status": {"$ne": "active"}}, {"_id": 1})
        return {
            "subscription_id": [d["_id"] async for d in subs],
            "partner_id": [d["_id"] async for d in partners],
        }

    async def due(
        self, now: datetime, lease_cutoff: datetime, limit: int, paused: dict[str, list[str]] | None = None
    ) -> list[Delivery]:
        """Pending ones whose time has come and sending ones whose claim lapsed (a crash), oldest
        first; none of ``paused`` subscriptions or partners."""
        skip: Doc = {field: {"$nin": ids} for field, ids in (paused or {}).items() if ids}
        pending = self.repo.collection.find(
            {"status": DeliveryStatus.PENDING.value, "next_attempt_at": {"$lte": now}} | skip
        ).sort([("next_attempt_at", ASCENDING)])
        stuck = self.repo.collection.find(
            {"status": DeliveryStatus.SENDING.value, "claimed_at": {"$lte": lease_cutoff}} | skip
        )
        found = {d["_id"]: d async for d in pending.limit(limit)}
        found |= {d["_id"]: d async for d in stuck.limit(limit)}
        return sorted((self.repo.loaded(d) for d in found.values()), key=lambda d: d.offset)

    async def earlier_undelivered(self, delivery: Delivery) -> Delivery | None:
        """The first of the same subscription and ordering key, earlier in the log, that still waits."""
        cursor = self.repo.collection.find(
            {
                "subscription_id": delivery.subscription_id,
                "ordering_key": delivery.ordering_key,
                "offset": {"$lt": delivery.offset},
                "status": {"$ne": DeliveryStatus.DELIVERED.value},
            }
        ).sort([("offset", ASCENDING)])
        async for doc in cursor.limit(1):
            return self.repo.loaded(doc)
        return None

    async def of_subscription(
        self,
        subscription_id: str,
        limit: int,
        offset: int = 0,
        status: DeliveryStatus | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Delivery]:
        """Newest first (by event-log offset)."""
        query: Doc = {"subscription_id": subscription_id}
        if status is not None:
            query["status"] = status.value
        if since is not None or until is not None:
            query["event_time"] = {
                **({"$gte": since} if since is not None else {}),
                **({"$lt": until} if until is not None else {}),
            }
        cursor = self.repo.collection.find(query, {"outbox": 0}).sort([("offset", DESCENDING)])
        return [self.repo.loaded(d) async for d in cursor.skip(offset).limit(limit)]

    async def from_offset(self, subscription_id: str, first: int, limit: int) -> list[Delivery]:
        cursor = self.repo.collection.find({"subscription_id": subscription_id, "offset": {"$gte": first}}).sort(
            [("offset", ASCENDING)]
        )
        return [self.repo.loaded(d) async for d in cursor.limit(limit)]


class Relations:
    """What the gateway learns from events to scope them: a coverage's payer, an authorization's
    coverage, a referral's referring organization. Plain documents, written with the newest
    version winning, so a replayed or reordered event changes nothing."""

    def __init__(self, runtime: Runtime) -> None:
        db = runtime.store.db
        self.coverages: AsyncCollection[Doc] = db["coverages"]
        self.authorizations: AsyncCollection[Doc] = db["authorizations"]
        self.referrals: AsyncCollection[Doc] = db["referrals"]
        runtime.indexes["coverages"] = [IndexModel([("patient_id", ASCENDING)])]
        runtime.indexes["authorizations"] = []
        runtime.indexes["referrals"] = []

    async def coverage(self, coverage_id: str, patient_id: str, payer_id: str | None, version: int) -> None:
        state = {"patient_id": patient_id, "payer_id": payer_id, "version": version}
        current = await self.coverages.find_one({"_id": coverage_id})
        if current is None and await _insert(self.coverages, {"_id": coverage_id, **state}):
            return
        current = current or await self.coverages.find_one({"_id": coverage_id}) or {"version": version}
        if current["version"] < version:
            await self.coverages.update_one({"_id": coverage_id, "version": current["version"]}, {"$set": state})

    async def authorization(self, authorization_id: str, coverage_id: str) -> None:
        await _insert(self.authorizations, {"_id": authorization_id, "coverage_id": coverage_id})

    async def referral(self, referral_id: str, organization: str | None) -> None:
        if organization is not None:
            await _insert(self.referrals, {"_id": referral_id, "organization": organization})

    async def facts(self, body: dict[str, Any]) -> Facts:
        """What scopes an event: the payers behind it, the organization that referred."""
        payers: set[str] = set()
        if body.get("payer_id"):
            payers.add(str(body["payer_id"]))
        coverage_id = body.get("coverage_id")
        if coverage_id is None and body.get("authorization_id"):
            found = await self.authorizations.find_one({"_id": body["authorization_id"]})
            coverage_id = found and found.get("coverage_id")
        if coverage_id is not None and not payers:
            found = await self.coverages.find_one({"_id": coverage_id})
            if found and found.get("payer_id"):
                payers.add(found["payer_id"])
        if not payers and body.get("patient_id") and ("authorization_id" in body or "appointment_id" in body):
            # No coverage named: the payers of the patient's coverages.
            async for c in self.coverages.find({"patient_id": body["patient_id"]}, {"payer_id": 1}):
                if c.get("payer_id"):
                    payers.add(c["payer_id"])
        organization = body.get("referring_organization")
        if organization is None and body.get("referral_id"):
            found = await self.referrals.find_one({"_id": body["referral_id"]})
            organization = found and found.get("organization")
        return Facts(payer_ids=frozenset(payers), referring_organization=organization)


async def _insert(collection: AsyncCollection[Doc], doc: Doc) -> bool:
    """Insert unless one with the id exists (a relation, once known, does not change)."""
    try:
        await collection.insert_one(doc)
    except DuplicateKeyError:
        return False
    return True


class Cursor:
    """The next event-log offset the gateway reads; it only moves forward."""

    def __init__(self, runtime: Runtime) -> None:
        self.collection: AsyncCollection[Doc] = runtime.store.db["cursor"]

    async def next(self) -> int | None:
        doc = await self.collection.find_one({"_id": "event-log"})
        return None if doc is None else int(doc["next"])

    async def advance(self, next_offset: int) -> None:
        await self.collection.update_one({"_id": "event-log"}, {"$max": {"next": next_offset}}, upsert=True)
