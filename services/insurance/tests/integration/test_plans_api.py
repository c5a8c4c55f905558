"""Payers, plans and coverages over HTTP: roles, problems that name the field, versions."""

from caremesh_contracts import CoverageChanged
from caremesh_testing import EventCapture, bearer


async def test_plans_crud_for_coordinators(setup, insurance):
    payer = await setup.payer(payer_identifier="ACME01")
    plan = await setup.plan(
        payer["id"],
        services=[
            {"code": "99213", "cost_share": {"copay": "20"}},
            {"code": "97110", "visits_per_year": 12, "prior_authorization": True},
        ],
        visits_per_year=30,
        plan_code="GOLD-1",
    )
    assert (plan["version"], plan["status"], plan["deductible"], plan["visits_per_year"]) == (1, "active", "500.00", 30)
    assert plan["services"][1] == {
        "code": "97110",
        "cost_share": None,
        "visits_per_year": 12,
        "prior_authorization": True,
    }
    listed = (await insurance.get("/plans", params={"payer_id": payer["id"]})).json()
    assert [p["id"] for p in listed] == [plan["id"]]
    assert (await insurance.get("/plans", params={"payer_id": "other"})).json() == []

    body = {k: plan[k] for k in ("payer_id", "name", "services", "deductible")}
    r = await insurance.put(f"/plans/{plan['id']}", json=body | {"deductible": "1000", "version": 1})
    assert (r.status_code, r.json()["version"], r.json()["deductible"]) == (200, 2, "1000.00")
    r = await insurance.put(f"/plans/{plan['id']}", json=body | {"version": 1})
    assert (r.status_code, r.json()["current_version"]) == (409, 2)

    r = await insurance.delete(f"/plans/{plan['id']}")
    assert (r.status_code, r.json()["status"]) == (200, "retired")
    r = await insurance.post(
        "/coverages", json={"patient_id": "pp1", "plan_id": plan["id"], "member_id": "M", "period_start": "2026-01-01"}
    )
    assert (r.status_code, r.json()["field"]) == (422, "plan_id")


async def test_only_coordinators_and_admins_write_payers_and_plans(setup, insurance):
    payer = await setup.payer()
    body = {"payer_id": payer["id"], "name": "Gold", "services": [{"code": "99213"}]}
    for role, status in (("clinician", 403), ("patient", 403), ("service", 403), ("admin", 201)):
        r = await insurance.post("/plans", json=body, headers=bearer(role))
        assert r.status_code == status, role
    assert (await insurance.get(f"/payers/{payer['id']}", headers=bearer("patient", patient_id="p"))).status_code == 200
    r = await insurance.get("/plans", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


async def test_plan_and_payer_problems_name_the_field(setup, insurance):
    payer = await setup.payer()
    cases = [
        ({"payer_id": payer["id"], "name": "G", "services": [{"code": "99213"}, {"code": "99213"}]}, "services"),
        (
            {"payer_id": payer["id"], "name": "G", "services": [{"code": "99213", "cost_share": {}}]},
            "services.0.cost_share",
        ),
        ({"payer_id": payer["id"], "name": "G", "services": [{"code": "X"}]}, "services.0.code"),
        ({"payer_id": payer["id"], "name": "G", "services": [{"code": "99213"}], "deductible": "-5"}, "deductible"),
    ]
    for body, field in cases:
        r = await insurance.post("/plans", json=body)
        assert r.status_code == 422, body
        assert field in [e["field"] for e in r.json()["errors"]], r.json()
    r = await insurance.post("/plans", json={"payer_id": "nope", "name": "G", "services": [{"code": "99213"}]})
    assert (r.status_code, r.json()["field"]) == (422, "payer_id")
    r = await insurance.post("/payers", json={"name": "ABC", "adapter": "x12"})
    assert r.status_code == 422 and "x12 adapter needs payer_identifier and x12_endpoint" in r.text
    r = await insurance.get("/plans/nope")
    assert (r.status_code, r.headers["content-type"]) == (404, "application/problem+json")


async def test_coverage_lifecycle_over_http(setup, insurance, namespace, amqp_url):
    payer = await setup.payer()
    gold = await setup.plan(payer["id"], services=[{"code": "99213"}])
    silver = await setup.plan(payer["id"], name="Silver", services=[{"code": "99214", "prior_authorization": True}])
    async with EventCapture(amqp_url, namespace, "insurance.coverage.changed") as cap:
        cov = await setup.coverage("pc1", gold["id"], order="secondary", group_id="G-1")
        assert (cov["order"], cov["plan"], cov["service_codes"], cov["status"]) == (
            "secondary",
            "Gold",
            ["99213"],
            "active",
        )
        body = {k: cov[k] for k in ("member_id", "period_start", "subscriber", "order")} | {"plan_id": silver["id"]}
        r = await insurance.put(f"/coverages/{cov['id']}", json=body)
        assert (r.status_code, r.json()["plan"], r.json()["prior_authorization_codes"]) == (200, "Silver", ["99214"])
        r = await insurance.post(f"/coverages/{cov['id']}/cancel", json={"version": 2})
        assert (r.status_code, r.json()["status"]) == (200, "cancelled")
        await cap.wait_for(CoverageChanged, count=3)
    assert [(e.coverage_version, e.status, e.service_codes) for e in cap.distinct(CoverageChanged)] == [
        (1, "active", ["99213"]),
        (2, "active", ["99214"]),
        (3, "cancelled", ["99214"]),
    ]
    r = await insurance.post(f"/coverages/{cov['id']}/end", json={"period_end": "2026-12-31"})
    assert (r.status_code, r.json()["current"]) == (409, "cancelled")
    r = await insurance.put(
        f"/coverages/{cov['id']}",
        json=body | {"relationship": "self", "dependent": {"given_name": "A", "family_name": "B"}},
    )
    assert (r.status_code, [e["field"] for e in r.json()["errors"]]) == (422, ["dependent"])
    listed = (await insurance.get("/coverages", params={"patient_id": "pc1"})).json()
    assert [c["id"] for c in listed] == [cov["id"]]
