"""The authorization matrix: every route in every service's OpenAPI document, called as every kind
of caller on the four services running as processes, against the declared policy tables.

The expected outcome comes from the tables only (``caremesh_kit.policy``): the rule's roles (admin
always), the token's SMART scopes (``Principal.permits``), and for a ``patient=True`` rule a
patient-bound caller refused on another patient's data. "Denied" is a 401 or a 403, "allowed" any
other answer. Patients A and B and their data are seeded first; path, query and body are filled
with A's or B's ids, so that own and other data are really asked for.
"""

import asyncio
import importlib
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi import APIRouter
from pymongo import AsyncMongoClient

from caremesh_kit.auth import Principal, Role, mint
from caremesh_kit.auth.tokens import principal_of
from caremesh_kit.codes import ICD10CM
from caremesh_kit.devcluster import SERVICES, Cluster
from caremesh_kit.http import create_app
from caremesh_kit.links import DEV_OFFER_LINK_SECRET, OfferAction, offer_token, survey_token
from caremesh_kit.policy import Policy, Rule, unlisted
from caremesh_kit.settings import DEV_JWT_SECRET
from caremesh_notifications.adapters.sms import signature
from caremesh_notifications.domain.surveys import survey_id
from caremesh_notifications.settings import DEV_SURVEY_LINK_SECRET
from caremesh_notifications.usecases.delivery_reports import DeliveryReports
from caremesh_records.domain.intake import CANONICAL
from caremesh_testing import delete_namespace, eventually

ROOT = Path(__file__).resolve().parents[2]
STORES = {"scheduling": 27101, "records": 27102, "insurance": 27103, "notifications": 27104}
PORT_OFFSET = 600  # e2e 300, API conformance 400, chaos 500
CONCURRENCY = 16
SMS = {"SID": "ACauthzmatrix", "TOKEN": "authz-matrix-sms-auth-token"}


@dataclass(frozen=True)
class Caller:
    name: str
    roles: tuple[str, ...] = ()
    scope: str | None = None
    bound: bool = False  # bound to patient A (a patient, or a SMART patient/ launch)
    data: str = "A"  # whose data the requests name
    anonymous: bool = False


CALLERS = [
    Caller("no token", anonymous=True),
    Caller("coordinator", ("coordinator",)),
    Caller("clinician", ("clinician",)),
    Caller("service", ("service",)),
    Caller("admin", ("admin",)),
    Caller("patient A, own", ("patient",), bound=True),
    Caller("patient A, B's data", ("patient",), bound=True, data="B"),
    Caller("patient/*.rs for A, own", scope="patient/*.rs", bound=True),
    Caller("patient/*.rs for A, B's data", scope="patient/*.rs", bound=True, data="B"),
    Caller("user/*.cruds clinician", ("clinician",), scope="user/*.cruds"),
    Caller("system/*.rs", scope="system/*.rs"),
    Caller("user/Appointment.rs coordinator", ("coordinator",), scope="user/Appointment.rs"),
]


# -- the data: patients A and B with something of theirs in every service ------------------------

Ids = dict[str, dict[str, dict[str, str]]]  # service -> "A", "B" or "*" (shared) -> collection -> id
RXNORM, SNOMED = "http://www.nlm.nih.gov/research/umls/rxnorm", "http://snomed.info/sct"
HISTORY = {
    "allergies": {"substance": {"system": RXNORM, "code": "7980", "display": "penicillin G"}},
    "medications": {"medication": {"system": RXNORM, "code": "6809", "display": "metformin"}},
    "conditions": {"condition": {"system": SNOMED, "code": "44054006", "display": "Diabetes mellitus type 2"}},
    "procedures": {
        "procedure": {"system": "http://www.ama-assn.org/go/cpt", "code": "44950", "display": "Appendectomy"}
    },
    "family-history": {
        "relationship": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
            "code": "MTH",
            "display": "mother",
        },
        "condition": {"system": ICD10CM, "code": "C50.911", "display": "Breast cancer, right"},
    },
    "immunizations": {
        "vaccine": {"system": "http://hl7.org/fhir/sid/cvx", "code": "140", "display": "Influenza"},
        "date_given": "2024-10-01",
    },
}
# The writes a patient may make on their own data: bodies that pass validation, so the route's
# own patient check is reached (other writes are staff-only: their body may stay empty).
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/appointments/{appointment_id}/cancel"): lambda d: {"reason_code": "pat"},
    ("POST", "/series/{series_id}/cancel"): lambda d: {"scope": "all", "reason_code": "pat"},
    ("POST", "/waitlist"): lambda d: {"patient_id": d["patients"], "service_code": "99213"},
    ("POST", "/patients/{patient_id}/related-persons"): lambda d: {"given_name": "Kin", "relationship": "DAU"},
    ("PUT", "/patients/{patient_id}/related-persons/{person_id}/consent"): lambda d: {"categories": ["appointments"]},
    ("POST", "/fhir/QuestionnaireResponse"): lambda d: {
        "resourceType": "QuestionnaireResponse",
        "id": f"authz-{uuid.uuid4().hex[:8]}",
        "questionnaire": CANONICAL,
        "status": "completed",
        "subject": {"reference": f"Patient/{d['patients']}"},
        "item": [],
    },
    ("PUT", "/patients/{patient_id}/preferences"): lambda d: {"language": "en"},
    ("PUT", "/patients/{patient_id}/related-persons/{person_id}/preferences"): lambda d: {"language": "en"},
}


async def made(client: httpx.AsyncClient, url: str, body: Any, method: str = "POST") -> Any:
    r = await client.request(method, url, json=body)
    assert r.status_code in (200, 201), f"{method} {url}: {r.status_code} {r.text}"
    return r.json()


async def seed(c: dict[str, httpx.AsyncClient]) -> Ids:
    """Shared: a payer and plan, a service type, a clinic (A's); and each patient's data."""
    ids: Ids = {s: {"A": {}, "B": {}, "*": {}} for s in SERVICES}
    payer = await made(c["insurance"], "/payers", {"name": "Matrix Health"})
    services = [{"code": "99213"}, {"code": "97110", "prior_authorization": True}]
    plan = await made(c["insurance"], "/plans", {"payer_id": payer["id"], "name": "Gold", "services": services})
    ids["insurance"]["*"] |= {"payers": payer["id"], "plans": plan["id"], "_history": "1", "submissions": "1"}
    visit = {"code": "99213", "name": "Office visit", "duration_minutes": 30}
    service_type = (await made(c["scheduling"], "/service-types", visit))["id"]
    ids["records"]["*"] |= {"fhir": "Condition", "imports": "not-an-import"}
    ids["notifications"]["*"]["templates"] = (await c["notifications"].get("/templates")).json()[0]["kind"]
    clinic, _ = await asyncio.gather(*(seed_patient(c, ids, o, service_type, plan["id"]) for o in "AB"))
    ids["scheduling"]["*"] |= {"service-types": service_type, "practitioners": clinic[0]}
    ids["scheduling"]["*"] |= {"locations": clinic[1], "templates": clinic[1]}
    return ids


async def seed_patient(c: dict[str, httpx.AsyncClient], ids: Ids, owner: str, service_type: str, plan: str) -> Any:
    sch, rec, ins, notes = (c[s] for s in SERVICES)
    s_, r_, i_, n_ = (ids[s][owner] for s in SERVICES)
    email = f"authz-{owner.lower()}-{uuid.uuid4().hex[:8]}@example.org"
    person = {"given_name": f"Matrix{owner}", "family_name": "Authz", "birth_date": "1980-02-03", "time_zone": "UTC"}
    pid = (await made(rec, "/patients", person | {"email": email}))["id"]
    for s in SERVICES:
        ids[s][owner]["patients"] = pid
    r_["Patient"] = pid
    for kind, body in HISTORY.items():
        r_[kind] = (await made(rec, f"/patients/{pid}/{kind}", body))["id"]
    r_["resource_id"] = r_["conditions"]
    kin = await made(rec, f"/patients/{pid}/related-persons", {"given_name": "Kin", "relationship": "DAU"})
    r_["related-persons"] = n_["related-persons"] = kin["id"]
    await made(rec, f"/patients/{pid}/related-persons/{kin['id']}/consent", {"categories": ["appointments"]}, "PUT")
    care = await made(rec, f"/patients/{pid}/care-plans", {"title": "Diabetes", "status": "active"})
    base = f"/patients/{pid}/care-plans/{care['id']}"
    goal = await made(rec, f"{base}/goals", {"description": "HbA1c under 7%"})
    task = await made(rec, f"{base}/tasks", {"description": "Call", "assignee": {"id": "nurse-1", "role": "nurse"}})
    r_ |= {"care-plans": care["id"], "goals": goal["id"], "tasks": task["id"]}

    since = str(date.today() - timedelta(days=30))
    cov = await made(
        ins, "/coverages", {"patient_id": pid, "plan_id": plan, "member_id": f"M-{owner}", "period_start": since}
    )
    day = str(date.today() + timedelta(days=3))
    check = await made(ins, "/eligibility-checks", {"patient_id": pid, "service_code": "99213", "service_date": day})
    auth = await made(ins, "/authorizations", {"patient_id": pid, "coverage_id": cov["id"], "service_code": "97110"})
    call = {"kind": "call", "contact": "UM desk", "reference": f"CALL-{owner}", "summary": "Asked for the status."}
    when = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    corr = await made(ins, "/correspondence", call | {"occurred_at": when, "authorization_id": auth["id"]})
    i_ |= {"coverages": cov["id"], "eligibility-checks": check["id"], "CoverageEligibilityResponse": check["id"]}
    i_ |= {"authorizations": auth["id"], "correspondence": corr["id"]}

    clinic = await new_clinic(sch, service_type)
    soon, later = await free_slots(sch, clinic[0])
    s_["appointments"] = (await made(sch, "/appointments", {"patient_id": pid, "slot_id": later[0]}))["id"]
    weekly = {"patient_id": pid, "slot_id": later[1], "recurrence": {"frequency": "weekly", "count": 2}}
    s_["series"] = (await made(sch, "/series", weekly))["id"]
    reasons = [{"system": ICD10CM, "code": "M54.5", "display": "Low back pain"}]
    referral = {"patient_id": pid, "service_code": "99213", "referring": {"name": "Dr. Refer"}, "reasons": reasons}
    s_["referrals"] = (await made(sch, "/referrals", referral))["id"]
    # An offer: the entry waits for this practitioner, and someone else's visit there is called off.
    wish = {"patient_id": pid, "service_code": "99213", "practitioner_id": clinic[0], "priority": 3}
    entry = (await made(sch, "/waitlist", wish))["id"]
    other = f"authz-other-{owner}"  # covered: else insurance declines the visit before it is called off
    await made(ins, "/coverages", {"patient_id": other, "plan_id": plan, "member_id": "M-O", "period_start": since})
    freed = await made(sch, "/appointments", {"patient_id": other, "slot_id": later[2]})
    await made(sch, f"/appointments/{freed['id']}/cancel", {"reason_code": "pat"})

    async def offered() -> str | None:
        offer = (await sch.get(f"/waitlist/{entry}")).json().get("offer")
        return offer["offer_id"] if offer else None

    s_["offers"] = await eventually(offered, timeout=30, what=f"an offer to {owner}")
    s_["waitlist"] = (await made(sch, "/waitlist", {"patient_id": pid, "service_code": "99213"}))["id"]
    # A visit that took place: a survey in notifications.
    visit = (await made(sch, "/appointments", {"patient_id": pid, "slot_id": soon}))["id"]
    for step in ("self-pay", "check-in", "complete"):
        await made(sch, f"/appointments/{visit}/{step}", None)
    n_["surveys"] = survey_id(visit)
    token = survey_token(DEV_SURVEY_LINK_SECRET, n_["surveys"], datetime.now(UTC) + timedelta(days=1))

    family = f"/patients/{pid}/related-persons/{kin['id']}/preferences"

    async def known() -> str | None:
        """The survey is open, and notifications knows the family member."""
        survey = (await notes.get(f"/surveys/{n_['surveys']}", params={"token": token})).status_code
        return "known" if survey == (await notes.get(family)).status_code == 200 else None

    state: str = await eventually(known, timeout=30, what="the survey, and the family known to notifications")
    assert state == "known"
    text = {"category": "appointments", "subject": "Your visit", "text": "See you soon."}
    sent = await made(notes, f"/patients/{pid}/messages", text)
    n_["messages"] = sent["messages"][0]["id"]
    return clinic


async def new_clinic(sch: httpx.AsyncClient, service_type: str) -> tuple[str, str]:
    location = await made(sch, "/locations", {"name": "Matrix clinic", "time_zone": "UTC", "rooms": [{"id": "R1"}]})
    practitioner = await made(sch, "/practitioners", {"name": "Dr. Matrix", "time_zone": "UTC"})
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    weekly = [{"day": d, "start": "00:00", "end": "23:55", "room": "R1"} for d in days]
    url = f"/practitioners/{practitioner['id']}/templates/{location['id']}"
    await made(sch, url, {"service_type_ids": [service_type], "weekly": weekly}, "PUT")
    return practitioner["id"], location["id"]


async def free_slots(sch: httpx.AsyncClient, practitioner: str) -> tuple[str, list[str]]:
    """One slot in the next two hours (check-in opens two hours before it), three from two days on."""
    now = datetime.now(UTC)
    span = {"from": str(now.date()), "to": str(now.date() + timedelta(days=4)), "limit": "200"}
    r = await sch.get("/availability", params={"practitioner_id": practitioner} | span)
    slots = [(datetime.fromisoformat(s["start"]), s["slot_id"]) for s in r.json()["items"]]
    soon = next(i for t, i in slots if now + timedelta(minutes=10) < t < now + timedelta(minutes=110))
    return soon, [i for t, i in slots if t > now + timedelta(days=2)][:3]


def policies() -> dict[str, Any]:
    """Each service's app, built in-process: its merged policy table is ``app.state.policy``."""
    return {s: importlib.import_module(f"caremesh_{s}.app").build() for s in SERVICES}


def test_every_route_of_every_service_has_a_policy_entry() -> None:
    for service, app in policies().items():
        assert unlisted(app, app.state.policy) == [], service


def test_an_app_with_a_route_the_table_does_not_name_is_refused() -> None:
    from caremesh_scheduling.api import router
    from caremesh_scheduling.api.policy import POLICY
    from caremesh_scheduling.settings import SchedulingSettings

    extra = APIRouter()

    @extra.get("/new-route")
    async def new_route() -> None: ...

    def build(routers: list[APIRouter], policy: Policy) -> None:
        create_app(service="scheduling", settings=SchedulingSettings(), routers=routers, readiness={}, policy=policy)

    build([router], POLICY)  # as listed: built
    with pytest.raises(RuntimeError, match="/new-route"):
        build([router, extra], POLICY)
    dropped = ("GET", "/appointments/{appointment_id}")
    with pytest.raises(RuntimeError, match=re.escape(str(dropped))):
        build([router], {k: v for k, v in POLICY.items() if k != dropped})


def expected(rule: Rule, who: Principal | None, resource: str, on_other: bool) -> bool:
    """What the table says: allowed (True) or denied."""
    if rule.public:
        return True
    if who is None or not who.roles & (rule.roles | {Role.ADMIN}) or not who.permits(resource, rule.interaction):
        return False
    return not (rule.patient and who.patient_bound and on_other)


def reaches_patient_check(rule: Rule, who: Principal | None, resource: str) -> bool:
    return bool(rule.patient and who and who.patient_bound) and expected(rule, who, resource, False)


@dataclass
class Call:
    service: str
    method: str
    template: str
    rule: Rule
    url: str = ""
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    resource: str = ""
    names_owner: bool = False  # the request names the owner's data (a patient or one of theirs)
    complete: bool = True  # every path parameter is a seeded id

    def key(self) -> str:
        return f"{self.service} {self.method} {self.template}"


def link_token(template: str, values: dict[str, str]) -> str | None:
    expires = datetime.now(UTC) + timedelta(days=1)
    if "/surveys/" in template:
        return survey_token(DEV_SURVEY_LINK_SECRET, values["survey_id"], expires)
    action = template.rsplit("/", 1)[-1]
    if "/offers/" in template and action in {a.value for a in OfferAction}:
        return offer_token(DEV_OFFER_LINK_SECRET, values["offer_id"], OfferAction(action), expires)
    return None


def fill(service: str, method: str, template: str, op: dict[str, Any], rule: Rule, ids: Ids, owner: str) -> Call:
    """The request for one route, naming ``owner``'s data wherever the route takes an id."""
    mine, shared = ids[service][owner], ids[service]["*"]
    call = Call(service, method, template, rule)
    values: dict[str, str] = {}
    segments = template.strip("/").split("/")
    for i, seg in enumerate(segments):
        if not (m := re.fullmatch(r"\{(\w+)\}", seg)):
            continue
        before = segments[i - 1] if i else ""
        key = m.group(1) if before.startswith("{") else before  # the collection names the id
        if key in mine:
            values[m.group(1)], call.names_owner = mine[key], True
        elif key in shared:
            values[m.group(1)] = shared[key]
        else:
            values[m.group(1)], call.complete = "not-seeded", False
    call.url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)
    for p in op.get("parameters", []):
        name = p["name"]
        if p["in"] != "query":
            continue
        if name in ("patient_id", "patient"):
            call.params[name], call.names_owner = mine["patients"], True
        elif name == "token":
            call.params[name] = link_token(template, values) or "none"
        elif name in ("practitioner_id", "location_id") and (known := shared.get(name.replace("_id", "s"))):
            call.params[name] = known  # a day schedule needs one of them
        elif name in ("from", "to") and p.get("required"):  # the turnaround report's period
            call.params[name] = (datetime.now(UTC) - timedelta(days=30 if name == "from" else 0)).isoformat()
    if (method, template) in BODIES:
        call.json, call.names_owner = BODIES[(method, template)](mine), True
    elif (method, template) == ("POST", "/callbacks/sms/status"):
        form = {"AccountSid": SMS["SID"], "MessageSid": "SM-authz-matrix", "MessageStatus": "delivered"}
        callback = f"{ids[service]['*']['base']}/callbacks/sms/status"
        call.content = "&".join(f"{k}={v}" for k, v in form.items()).encode()
        call.headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            DeliveryReports.signature_header: signature(SMS["TOKEN"], callback, form),
        }
    elif op.get("requestBody"):
        call.json = {}  # staff-only writes: a 422 is an answer past the policy, and changes nothing
    call.resource = values.get(rule.resource.strip("{}"), "") if rule.resource.startswith("{") else rule.resource
    return call


@dataclass
class Outcome:
    call: Call
    caller: Caller
    expected: bool
    status: int = 0

    @property
    def allowed(self) -> bool:
        return self.status not in (401, 403)


@pytest.fixture(scope="module")
async def cluster() -> AsyncIterator[Cluster]:
    key = uuid.uuid4().hex[:8]
    env = {f"{s.upper()}_{k}": v for s in SERVICES for k, v in (("API_DOCS", "true"), ("RATE_LIMIT", ""))}
    base = f"http://127.0.0.1:{SERVICES['notifications'] + PORT_OFFSET}"
    env |= {
        # SMS on (the provider unreachable: nobody seeded has a phone), so the callback checks signatures.
        "NOTIFICATIONS_SMS_PROVIDER_URL": "http://127.0.0.1:9",
        "NOTIFICATIONS_SMS_ACCOUNT_SID": SMS["SID"],
        "NOTIFICATIONS_SMS_AUTH_TOKEN": SMS["TOKEN"],
        "NOTIFICATIONS_SMS_FROM": "+15550100",
        "NOTIFICATIONS_SMS_STATUS_CALLBACK_URL": f"{base}/callbacks/sms/status",
    }
    cluster = Cluster(
        namespace=f"authz-{key}",
        db_suffix=f"_authz_{key}",
        port_offset=PORT_OFFSET,
        log_dir=ROOT / ".local" / "authz-logs" / key,
        extra_env=env,
    )
    try:
        cluster.up()
        yield cluster
    finally:
        cluster.down()
        await delete_namespace(cluster.namespace)
        for s, port in STORES.items():
            client: AsyncMongoClient[Any] = AsyncMongoClient(f"mongodb://127.0.0.1:{port}/")
            await client.drop_database(f"caremesh_{s}{cluster.db_suffix}")
            await client.close()


def token_of(caller: Caller, patient_a: str) -> str | None:
    if caller.anonymous:
        return None
    subject = "authz-" + re.sub(r"\W+", "-", caller.name).strip("-").lower()
    patient = patient_a if caller.bound else None
    return mint(subject, list(caller.roles), DEV_JWT_SECRET, patient_id=patient, scope=caller.scope)


@pytest.mark.e2e
@pytest.mark.timeout(480)  # starting the services and seeding included
async def test_every_route_answers_every_caller_as_the_policy_table_says(cluster: Cluster) -> None:
    apps = policies()
    admin = {"Authorization": f"Bearer {mint('authz-seed', ['admin'], DEV_JWT_SECRET)}"}
    # Idle connections dropped before the servers drop them (uvicorn: after 5 s), not reused half-closed.
    fresh = httpx.Limits(keepalive_expiry=2)
    clients = {s: httpx.AsyncClient(base_url=cluster.url(s), timeout=60, limits=fresh) for s in SERVICES}
    seeders = {s: httpx.AsyncClient(base_url=cluster.url(s), timeout=60, limits=fresh, headers=admin) for s in SERVICES}
    try:
        docs = {s: (await c.get("/openapi.json")).raise_for_status().json() for s, c in clients.items()}
        ids = await seed(seeders)
        ids["notifications"]["*"]["base"] = cluster.url("notifications")
        outcomes = []
        for caller in CALLERS:
            tok = token_of(caller, ids["records"]["A"]["patients"])
            who = None if tok is None else principal_of(jwt.decode(tok, options={"verify_signature": False}))
            for s, doc in docs.items():
                for template, ops in doc["paths"].items():
                    for method, op in ops.items():
                        rule = apps[s].state.policy[(method.upper(), template)]
                        call = fill(s, method.upper(), template, op, rule, ids, caller.data)
                        if tok:
                            call.headers = call.headers | {"Authorization": f"Bearer {tok}"}
                        on_other = caller.data != "A" and call.names_owner
                        outcomes.append((Outcome(call, caller, expected(rule, who, call.resource, on_other)), who))
        await run(clients, [o for o, _ in outcomes])
    finally:
        for c in [*clients.values(), *seeders.values()]:
            await c.aclose()
    report(docs, outcomes)


async def run(clients: dict[str, httpx.AsyncClient], outcomes: list[Outcome]) -> None:
    """Denials first (they must change nothing), then the patient-bound callers' own data, then
    the rest: staff changes (cancelling, retiring a plan) come after the checks that read it."""
    bound = asyncio.Semaphore(CONCURRENCY)

    async def one(o: Outcome) -> None:
        c = o.call
        async with bound:
            r = await clients[c.service].request(
                c.method, c.url, params=c.params, json=c.json, content=c.content, headers=c.headers
            )
        o.status = r.status_code

    for phase in (
        [o for o in outcomes if not o.expected],
        [o for o in outcomes if o.expected and o.caller.bound],
        [o for o in outcomes if o.expected and not o.caller.bound],
    ):
        await asyncio.gather(*(one(o) for o in phase))


def report(docs: dict[str, Any], pairs: list[tuple[Outcome, Principal | None]]) -> None:
    outcomes = [o for o, _ in pairs]
    routes = {s: sum(len(ops) for ops in d["paths"].values()) for s, d in docs.items()}
    mismatches = [o for o in outcomes if o.allowed != o.expected]
    checked = [o for o, who in pairs if reaches_patient_check(o.call.rule, who, o.call.resource)]
    exercised = [o for o in checked if o.call.names_owner and o.call.complete]
    own = [o for o in exercised if o.caller.data == "A"]
    done = {id(o) for o in exercised}
    limited = sorted({o.call.key() for o in checked if id(o) not in done})
    unfilled = sorted({o.call.key() for o in outcomes if not o.call.complete})
    answered = {o.call.key() for o in outcomes if o.expected and o.status < 300}
    reads = {o.call.key() for o in outcomes if o.expected and o.call.method == "GET"}
    never_ok = sorted(reads - answered)  # writes by staff carry an empty body: a 422 is expected
    print(f"\nroutes: {routes} = {sum(routes.values())}; callers: {len(CALLERS)}; combinations: {len(outcomes)}")
    print(f"statuses: {dict(sorted(Counter(o.status for o in outcomes).items()))}")
    print(
        f"own/other combinations exercised: {len(exercised)} (own {len(own)}, of which 2xx "
        f"{sum(o.status < 300 for o in own)}; other {len(exercised) - len(own)})"
    )
    print(f"patient routes checked on roles and scopes only ({len(limited)}): {limited}")
    print(f"routes with an id not seeded ({len(unfilled)}): {unfilled}")
    print(f"read routes no allowed caller got a 2xx from ({len(never_ok)}): {never_ok}")
    print(f"5xx: {sorted({(o.call.key(), o.status) for o in outcomes if o.status >= 500})}")
    print(f"mismatches: {len(mismatches)}")
    lines = [
        f"{o.call.key()} as {o.caller.name}: expected {'allowed' if o.expected else 'denied'}, got {o.status}"
        for o in mismatches
    ]
    assert not mismatches, "\n".join(lines)
