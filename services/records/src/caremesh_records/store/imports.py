"""Bulk FHIR imports: the collections the import jobs work on.

- ``imports``: one document per import: who asked, when, how many bundles and resources.
- ``import_bundles``: one document per bundle, the bundle as received (a Mongo document is
  limited to 16 MB, so bundles are never stored together); deleted once the bundle is done.
- ``import_queue``: the bundles not done yet (small documents, so polling stays cheap).
- ``import_claims``: ``<bundle>#<attempt>``. A worker takes a bundle by inserting the next attempt:
  a unique ``_id`` insert is atomic on FerretDB and MongoDB alike, so two replicas never work on
  one bundle at once.
- ``import_results``: each bundle's report, inserted once (``_id`` = the bundle).
"""

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from caremesh_kit.runtime import Runtime

Document = dict[str, Any]


class Imports:
    def __init__(self, runtime: Runtime) -> None:
        db = runtime.store.db
        self.imports, self.bundles, self.queue = db["imports"], db["import_bundles"], db["import_queue"]
        self.claims, self.results = db["import_claims"], db["import_results"]
        runtime.indexes["import_results"] = [IndexModel([("job_id", ASCENDING), ("index", ASCENDING)])]
        runtime.indexes["import_claims"] = [IndexModel([("job_id", ASCENDING)])]

    # -- submitting ---------------------------------------------------------------------------

    async def add(self, job: Document, bundles: list[Document]) -> None:
        """The bundles, then the import, then the queue: a worker never sees a bundle whose import
        is not recorded."""
        for bundle in bundles:
            await self.bundles.insert_one(bundle)
        await self.imports.insert_one(job)
        await self.queue.insert_many([{"_id": b["_id"], "job_id": job["_id"]} for b in bundles])

    # -- working the queue --------------------------------------------------------------------

    async def queued(self, limit: int = 50) -> list[Document]:
        """The oldest bundles not done yet."""
        return await self.queue.find({}).sort("_id", ASCENDING).limit(limit).to_list()

    async def claim(self, claim: Document) -> bool:
        """Insert a claim; False when that attempt is claimed already."""
        try:
            await self.claims.insert_one(claim)
        except DuplicateKeyError:
            return False
        return True

    async def claim_of(self, claim_id: str) -> Document | None:
        return await self.claims.find_one({"_id": claim_id})

    async def extend(self, claim_id: str, until: datetime, progress: int | None = None) -> None:
        """Move a claim's lease to ``until`` (and record the resources done so far)."""
        fields: Document = {"until": until} | ({"progress": progress} if progress is not None else {})
        await self.claims.update_one({"_id": claim_id}, {"$set": fields})

    async def bundle(self, bundle_id: str) -> Document | None:
        return await self.bundles.find_one({"_id": bundle_id})

    async def add_result(self, result: Document) -> bool:
        """False when the bundle was finished before (by a worker whose lease had run out)."""
        try:
            await self.results.insert_one(result)
        except DuplicateKeyError:
            return False
        return True

    async def dequeue(self, bundle_id: str) -> None:
        # The queue entry last: until it goes, a crash here is finished by the next worker.
        await self.bundles.delete_one({"_id": bundle_id})
        await self.claims.delete_many({"bundle_id": bundle_id})
        await self.queue.delete_one({"_id": bundle_id})

    # -- progress -----------------------------------------------------------------------------

    async def job(self, job_id: str) -> Document | None:
        return await self.imports.find_one({"_id": job_id})

    async def claims_of(self, job_id: str) -> list[Document]:
        return [c async for c in self.claims.find({"job_id": job_id})]

    async def results_of(self, job_id: str, outcomes: bool = True) -> list[Document]:
        """In bundle order; without the per-resource outcomes unless asked."""
        cursor = self.results.find({"job_id": job_id}, None if outcomes else {"report.resources": 0})
        return [r async for r in cursor.sort("index", ASCENDING)]
