"""Who may call which route: one declared table per service, enforced for every request.

Each route has a ``Rule``: the FHIR resource type it reads or changes and the SMART interaction
(c, r, u, d, s) that needs, the CareMesh roles that may call it (admin always may), and whether its
data belongs to one patient (then a patient-bound caller reaches only their own: the route's
``Access`` checks it). A request is allowed when the caller holds a role of the rule and, if the
token carries SMART scopes, a scope granting that interaction on that resource.

``create_app`` refuses to build an app with a route the table does not name, and the
authorization-matrix test calls every route as every kind of caller and compares with the table.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.routing import APIRoute, iter_route_contexts

from caremesh_kit.auth import Role, caller

INTERACTIONS = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}


@dataclass(frozen=True)
class Rule:
    resource: str = ""
    interaction: str = ""
    roles: frozenset[Role] = field(default_factory=frozenset)
    patient: bool = False
    # No bearer token: probes, and links that carry their own signed token.
    public: bool = False


def allow(resource: str, interaction: str, *roles: Role, patient: bool = False) -> Rule:
    if interaction not in INTERACTIONS:
        raise ValueError(f"interaction {interaction!r}: one of {', '.join(INTERACTIONS)}")
    return Rule(resource, interaction, frozenset(roles), patient)


PUBLIC = Rule(public=True)

Policy = Mapping[tuple[str, str], Rule]  # (method, path template) -> rule

# The routes every service has (create_app's and the audit trail's).
KIT: Policy = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): allow("Basic", "r", Role.SERVICE),
    ("GET", "/audit"): allow("AuditEvent", "s"),
    ("GET", "/audit/break-glass"): allow("AuditEvent", "s"),
    ("GET", "/audit/patients/{patient_id}"): allow("AuditEvent", "s", Role.PATIENT, patient=True),
}


def routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) of the app's API routes, those of included routers too."""
    found = set()
    for r in iter_route_contexts(app.routes):
        if isinstance(r.original_route, APIRoute) and r.path:
            found |= {(m, r.path) for m in r.methods or ()}
    return sorted(found)


def unlisted(app: FastAPI, policy: Policy) -> list[tuple[str, str]]:
    return [k for k in routes(app) if k not in policy]


def rule_for(request: Request) -> Rule:
    policy: Policy = request.app.state.policy
    path = getattr(request.scope.get("route"), "path", "")
    found = policy.get((request.method, path))
    if found is None:  # create_app refuses such an app; never reached
        raise HTTPException(403, "no policy for this route")
    return found


async def guard(request: Request) -> None:
    """The app-wide dependency that enforces the table."""
    rule = rule_for(request)
    if rule.public:
        return
    who = await caller(request)
    if not who.roles & (rule.roles | {Role.ADMIN}):
        raise HTTPException(403, f"requires one of the roles: {', '.join(sorted(rule.roles | {Role.ADMIN}))}")
    resource = rule.resource
    if resource.startswith("{"):  # named by the path, as in /fhir/{resource_type}
        resource = str(request.path_params.get(resource.strip("{}"), ""))
    if not who.permits(resource, rule.interaction):
        raise HTTPException(403, f"the token's scopes do not grant {INTERACTIONS[rule.interaction]} on {resource}")


Guarded = Annotated[None, Depends(guard)]
