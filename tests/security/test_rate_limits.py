"""Rate limits per caller and route, on a scheduling service on the real broker and store with
``rate_limit="5/minute"``: the sixth call by one caller on one route is a 429 with ``Retry-After``;
another caller, another route and the probes are still served."""

import httpx
import pytest

from caremesh_kit import ratelimit
from caremesh_scheduling.app import build
from caremesh_scheduling.settings import SchedulingSettings
from caremesh_testing import bearer, running, service_settings

LIMIT = 5
PROBLEM = "application/problem+json"


@pytest.fixture
async def limited(namespace):
    app = build(service_settings(SchedulingSettings, namespace, rate_limit=f"{LIMIT}/minute"))
    async with running(app) as client:
        yield app, client


def from_address(app, host: str, **headers: str) -> httpx.AsyncClient:
    """A client the service sees at ``host``."""
    transport = httpx.ASGITransport(app=app, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://service", headers=headers)


def assert_limited(r: httpx.Response) -> None:
    assert (r.status_code, r.headers["content-type"]) == (429, PROBLEM), r.text
    retry = int(r.headers["retry-after"])
    assert 1 <= retry <= 60
    assert (r.headers["ratelimit-limit"], r.headers["ratelimit-remaining"]) == (str(LIMIT), "0")
    assert r.headers["ratelimit-policy"] == f"{LIMIT};w=60"
    body = r.json()
    assert (body["status"], body["title"], body["retry_after_seconds"]) == (429, "Too many requests", retry)
    assert r.headers["x-correlation-id"]


async def test_the_sixth_call_by_one_caller_on_one_route_is_refused(limited):
    _, coordinator = limited  # a bearer token for subject test-user
    for _ in range(LIMIT):
        assert (await coordinator.get("/service-types")).status_code == 200
    assert_limited(await coordinator.get("/service-types"))
    assert_limited(await coordinator.get("/service-types", params={"limit": 3}))  # the route, whatever the query
    # Another route, the same caller: its own budget.
    assert (await coordinator.get("/locations")).status_code == 200
    # The same route, another method: another route.
    r = await coordinator.post("/service-types", json={"code": "99214", "name": "Visit", "duration_minutes": 20})
    assert r.status_code == 201, r.text
    # Another caller (another token subject) on the same route, from the same address: served.
    other = bearer("coordinator", subject="another-user")
    for _ in range(LIMIT):
        assert (await coordinator.get("/service-types", headers=other)).status_code == 200
    assert_limited(await coordinator.get("/service-types", headers=other))
    # The probes are never limited.
    for _ in range(3 * LIMIT):
        assert (await coordinator.get("/healthz")).status_code == 200
        assert (await coordinator.get("/readyz")).status_code == 200


async def test_without_a_valid_token_the_client_address_is_the_caller(limited):
    app, _ = limited
    link = "/waitlist/offers/no-such-offer/accept"  # public: the link's token is the only check
    async with from_address(app, "198.51.100.7") as first, from_address(app, "198.51.100.8") as second:
        for _ in range(LIMIT):
            assert (await first.get(link, params={"token": "1.forged"})).status_code == 403
        assert_limited(await first.get(link, params={"token": "1.forged"}))
        assert (await second.get(link, params={"token": "1.forged"})).status_code == 403  # another address
        # Forged bearer tokens count against the address they come from: no fresh budget per token.
        for i in range(LIMIT):
            r = await second.get("/locations", headers={"Authorization": f"Bearer forged.{i}.token"})
            assert r.status_code == 401
        assert_limited(await second.get("/locations", headers={"Authorization": "Bearer forged.6.token"}))
        assert_limited(await second.get("/locations"))  # the same address, no token: the same caller
        # A valid token is its own caller, wherever it comes from.
        assert (await second.get("/locations", headers=bearer("clinician", subject="c-1"))).status_code == 200
        for _ in range(3 * LIMIT):
            assert (await first.get("/healthz")).status_code == 200


def test_429_is_in_the_openapi_of_every_limited_route_when_limits_are_on():
    on = build(SchedulingSettings(api_docs=True, rate_limit="600/minute;50/second")).openapi()
    off = build(SchedulingSettings(api_docs=True)).openapi()
    operations = 0
    for path, item in on["paths"].items():
        for method, op in item.items():
            limited = path not in ratelimit.EXEMPT
            assert ("429" in op["responses"]) is limited, (method, path)
            assert "429" not in off["paths"][path][method]["responses"], (method, path)
            operations += limited
            if limited:
                answer = op["responses"]["429"]
                assert answer["content"] == {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
                assert {"Retry-After", "RateLimit-Limit", "x-correlation-id"} <= set(answer["headers"])
    assert operations > 50


@pytest.mark.parametrize("bad", ["lots", "5/fortnight", "5 per minute;x"])
def test_a_limit_that_does_not_parse_stops_the_service_at_build(bad):
    with pytest.raises(ValueError, match="rate_limit"):
        build(SchedulingSettings(rate_limit=bad))
