"""The audit trail of patient data: who read or changed what, when, for which patient and why.

Every service keeps its own append-only trail (collection ``audit``); nothing updates or deletes
an entry. Routes that touch patient data take an ``Access`` and call it, which both checks that
the caller may see the patient and records the attempt, allowed or denied.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from pydantic import BaseModel
from pymongo import ASCENDING, DESCENDING, IndexModel

from caremesh_kit import context
from caremesh_kit.auth import Principal, Role, require
from caremesh_kit.clock import Clock, system_clock
from caremesh_kit.openapi import Offset, limit_query
from caremesh_kit.store import Store
from caremesh_kit.types import Instant


class Purpose(StrEnum):
    """HL7 v3 PurposeOfUse codes a caller may state in ``X-Purpose-Of-Use``."""

    TREAT = "TREAT"  # treatment
    ETREAT = "ETREAT"  # emergency treatment
    CAREMGT = "CAREMGT"  # care management / coordination
    HPAYMT = "HPAYMT"  # payment
    HOPERAT = "HOPERAT"  # operations
    PATRQT = "PATRQT"  # the patient's own request
    FAMRQT = "FAMRQT"  # a family member's request
    PUBHLTH = "PUBHLTH"  # public health
    HRESCH = "HRESCH"  # research
    HLEGAL = "HLEGAL"  # legal
    SYSDEV = "SYSDEV"  # system administration


class Action(StrEnum):
    READ = "read"
    CREATE = "create"
    UPDATE = "update"


class AuditEntry(BaseModel):
    id: str
    at: datetime
    service: str
    actor: str
    roles: list[str]
    action: Action
    resource_type: str
    resource_id: str
    patient_id: str
    purpose: Purpose
    allowed: bool
    route: str
    correlation_id: str | None
    # Allowed only by breaking the glass: a clinician beyond their patient context, in an emergency.
    break_glass: bool = False
    reason: str | None = None


class AuditTrail:
    INDEXES: ClassVar[list[IndexModel]] = [
        IndexModel([("patient_id", ASCENDING), ("at", DESCENDING)]),
        IndexModel([("actor", ASCENDING), ("at", DESCENDING)]),
        IndexModel([("break_glass", ASCENDING), ("at", DESCENDING)]),
    ]

    def __init__(self, store: Store, service: str, clock: Clock = system_clock) -> None:
        self.clock = clock
        self.collection = store.db["audit"]
        self.service = service

    async def record(self, entry: AuditEntry) -> None:
        await self.collection.insert_one(entry.model_dump(exclude={"id"}) | {"_id": entry.id})

    async def query(
        self,
        *,
        patient_id: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        break_glass: bool | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AuditEntry]:
        q: dict[str, Any] = {}
        if break_glass is not None:
            q["break_glass"] = break_glass
        if patient_id:
            q["patient_id"] = patient_id
        if actor:
            q["actor"] = actor
        if since or until:
            q["at"] = {k: v for k, v in (("$gte", since), ("$lt", until)) if v}
        cursor = self.collection.find(q).sort("at", DESCENDING).skip(offset).limit(limit)
        return [AuditEntry.model_validate(d | {"id": d["_id"]}) async for d in cursor]


@dataclass
class Access:
    """The caller, their stated purpose and where to record what they touch."""

    who: Principal
    purpose: Purpose
    trail: AuditTrail
    route: str
    # Why the glass is broken (X-Break-Glass-Reason); only with purpose ETREAT.
    emergency_reason: str | None = None

    async def read(self, resource_type: str, resource_id: str, patient_id: str) -> None:
        """Check and record a read; 403 (recorded too) when the caller may not see the patient."""
        await self._record(Action.READ, resource_type, resource_id, patient_id)

    async def wrote(self, action: Action, resource_type: str, resource_id: str, patient_id: str) -> None:
        await self._record(action, resource_type, resource_id, patient_id)

    async def _record(self, action: Action, resource_type: str, resource_id: str, patient_id: str) -> None:
        allowed = self.who.may_see_patient(patient_id)
        broke_glass = not allowed and action is Action.READ and self.may_break_glass
        await self.trail.record(
            AuditEntry(
                id=context.random_id(),
                at=self.trail.clock(),
                service=self.trail.service,
                actor=self.who.subject,
                roles=sorted(self.who.roles),
                action=action,
                resource_type=resource_type,
                resource_id=resource_id,
                patient_id=patient_id,
                purpose=self.purpose,
                allowed=allowed or broke_glass,
                route=self.route,
                correlation_id=context.correlation_id.get(),
                break_glass=broke_glass,
                reason=self.emergency_reason if broke_glass else None,
            )
        )
        if not (allowed or broke_glass):
            raise HTTPException(403, "the caller may not see this patient's data")

    @property
    def may_break_glass(self) -> bool:
        """A clinician, in an emergency (purpose ETREAT) and saying why, may read beyond their
        patient context; only reads, and never a patient user."""
        return Role.CLINICIAN in self.who.roles and self.purpose is Purpose.ETREAT and bool(self.emergency_reason)


def access_for(*roles: Role) -> Callable[..., Any]:
    """Dependency: a caller holding one of ``roles``, with their purpose of use."""
    check = require(*roles)

    async def dependency(
        request: Request,
        who: Annotated[Principal, Depends(check)],
        x_purpose_of_use: Annotated[Purpose | None, Header()] = None,
        x_break_glass_reason: Annotated[str | None, Header(min_length=10, max_length=500)] = None,
    ) -> Access:
        default = Purpose.PATRQT if who.roles == {Role.PATIENT} else Purpose.TREAT
        route = getattr(request.scope.get("route"), "path", request.url.path)
        trail = request.app.state.audit
        access = Access(who, x_purpose_of_use or default, trail, f"{request.method} {route}", x_break_glass_reason)
        # A change under another patient's path is refused before the route runs, not after it wrote.
        patient_id = request.path_params.get("patient_id")
        if patient_id and request.method != "GET" and not who.may_see_patient(patient_id):
            action = Action.CREATE if request.method == "POST" else Action.UPDATE
            await access.wrote(action, "Patient", patient_id, patient_id)  # records the refusal; 403
        return access

    return dependency


# Patient-data routes: anyone who may see a patient (a patient only their own), or staff for writes.
PatientAccess = Annotated[Access, Depends(access_for(Role.COORDINATOR, Role.CLINICIAN, Role.PATIENT))]
CareTeamAccess = Annotated[Access, Depends(access_for(Role.COORDINATOR, Role.CLINICIAN))]
CoordinatorAccess = Annotated[Access, Depends(access_for(Role.COORDINATOR))]

router = APIRouter(tags=["audit"])


def _trail(request: Request) -> AuditTrail:
    trail: AuditTrail = request.app.state.audit
    return trail


@router.get("/audit", response_model=list[AuditEntry])
async def query_trail(
    trail: Annotated[AuditTrail, Depends(_trail)],
    _: Annotated[Principal, Depends(require())],
    patient_id: str | None = None,
    actor: str | None = None,
    since: Instant | None = None,
    until: Instant | None = None,
    limit: Annotated[int, limit_query(1000)] = 100,
    offset: Offset = 0,
) -> list[AuditEntry]:
    """The trail, newest first (administrators: privacy and security officers)."""
    return await trail.query(patient_id=patient_id, actor=actor, since=since, until=until, limit=limit, offset=offset)


@router.get("/audit/break-glass", response_model=list[AuditEntry])
async def break_glass_report(
    trail: Annotated[AuditTrail, Depends(_trail)],
    _: Annotated[Principal, Depends(require())],
    since: Instant | None = None,
    until: Instant | None = None,
    limit: Annotated[int, limit_query(1000)] = 100,
    offset: Offset = 0,
) -> list[AuditEntry]:
    """Every break-glass access, newest first, for the privacy officer's review (administrators)."""
    return await trail.query(break_glass=True, since=since, until=until, limit=limit, offset=offset)


@router.get("/audit/patients/{patient_id}", response_model=list[AuditEntry])
async def access_report(
    patient_id: str,
    trail: Annotated[AuditTrail, Depends(_trail)],
    who: Annotated[Principal, Depends(require(Role.PATIENT))],
    limit: Annotated[int, limit_query(1000)] = 200,
    offset: Offset = 0,
) -> list[AuditEntry]:
    """A patient's access report: who touched their data here, when and why."""
    if not who.may_see_patient(patient_id):
        raise HTTPException(403, "patients may only see their own access report")
    return await trail.query(patient_id=patient_id, limit=limit, offset=offset)
