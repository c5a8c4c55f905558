"""The turnaround report on a seeded set with known answers, the same figures in Prometheus, the
coordinators' worklists and the payer correspondence log, over HTTP on the real store."""

from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from caremesh_contracts import EligibilityDenied
from caremesh_testing import EventCapture, bearer, publish_event

from .conftest import Setup, requested

NOW = datetime.now(UTC).replace(microsecond=0)


async def seeded(setup: Setup, client, payer_name: str) -> dict[str, dict]:
    """Four requests the payer received over the last ten days, decided (or not) at known times."""
    payer = await setup.payer(name=payer_name)
    plan = await setup.plan(
        payer["id"],
        services=[{"code": "97110", "prior_authorization": True}, {"code": "99214", "prior_authorization": True}],
    )
    out = {}
    for name, code, priority, received, decision, hours in [
        ("a", "97110", "standard", NOW - timedelta(days=10), "approve", 24),
        ("b", "97110", "standard", NOW - timedelta(days=10), "deny", 216),  # 9 days: past the 7-day window
        ("c", "99214", "urgent", NOW - timedelta(days=5), "approve", 10),
        ("d", "97110", "standard", NOW - timedelta(days=2), None, 0),  # still within its window
    ]:
        patient = f"rp-{name}"
        cov = await setup.coverage(patient, plan["id"])
        auth = (
            await client.post(
                "/authorizations", json={"patient_id": patient, "coverage_id": cov["id"], "service_code": code}
            )
        ).json()
        url = f"/authorizations/{auth['id']}"
        await client.post(f"{url}/draft", json={})
        r = await client.post(
            f"{url}/submit", json={"units_requested": 4, "priority": priority, "received_at": received.isoformat()}
        )
        assert r.status_code == 200, r.text
        decided = (received + timedelta(hours=hours)).isoformat()
        if decision == "approve":
            r = await client.post(
                f"{url}/approve",
                json={
                    "authorization_number": f"N-{name}",
                    "approved_units": 4,
                    "valid_from": str(NOW.date()),
                    "valid_to": str(NOW.date() + timedelta(days=90)),
                    "decided_at": decided,
                },
            )
        elif decision == "deny":
            r = await client.post(
                f"{url}/deny", json={"reason_code": "N1", "reason": "Not covered.", "decided_at": decided}
            )
        assert r.status_code == 200, r.text
        out[name] = r.json()
    return out


def samples(text: str, payer: str) -> dict[tuple, float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.labels.get("payer") == payer:
                key = (s.name, s.labels.get("service_code"), s.labels.get("outcome"), s.labels.get("le"))
                found[key] = s.value
    return found


async def test_the_turnaround_report_and_prometheus_give_the_known_figures(setup, insurance, namespace):
    payer = f"Report Health {namespace[-6:]}"
    await seeded(setup, insurance, payer)
    window = {"from": (NOW - timedelta(days=30)).isoformat(), "to": (NOW + timedelta(hours=1)).isoformat()}
    r = await insurance.get("/reports/authorizations/turnaround", params=window)
    assert r.status_code == 200, r.text
    report = r.json()
    [group] = [g for g in report["by_payer"] if g["key"] == payer]
    assert report["overall"] == {k: v for k, v in group.items() if k != "key"}  # the only payer in this store
    o = report["overall"]
    assert (o["requests"], o["decided"], o["approved"], o["denied"], o["pending"], o["overdue"]) == (4, 3, 2, 1, 1, 1)
    # decision hours 10, 24, 216: median 24, p90 = 24 + 0.8 * (216 - 24)
    assert (o["median_decision_hours"], o["p90_decision_hours"]) == (24.0, 177.6)
    assert (o["approval_rate"], o["denial_rate"], o["overdue_rate"]) == (0.6667, 0.3333, 0.25)
    by_service = {g["key"]: g for g in report["by_service"]}
    assert (by_service["97110"]["requests"], by_service["97110"]["median_decision_hours"]) == (3, 120.0)
    assert (by_service["99214"]["approval_rate"], by_service["99214"]["median_decision_hours"]) == (1.0, 10.0)
    r = await insurance.get("/reports/authorizations/turnaround", params={"from": window["to"], "to": window["from"]})
    assert (r.status_code, r.json()["field"]) == (422, "to")
    assert (
        await insurance.get(
            "/reports/authorizations/turnaround", params=window, headers=bearer("patient", patient_id="rp-a")
        )
    ).status_code == 403

    text = (await insurance.get("/metrics", headers=bearer("service"))).text
    got = samples(text, payer)
    assert got[("caremesh_authorization_decisions_total", "97110", "approved", None)] == 1.0
    assert got[("caremesh_authorization_decisions_total", "97110", "denied", None)] == 1.0
    assert got[("caremesh_authorization_decisions_total", "99214", "approved", None)] == 1.0
    assert got[("caremesh_authorization_decision_seconds_count", "97110", None, None)] == 2.0
    assert got[("caremesh_authorization_decision_seconds_sum", "97110", None, None)] == 240 * 3600.0
    assert got[("caremesh_authorization_decision_seconds_bucket", "97110", None, "86400.0")] == 1.0  # ≤ 24 h
    assert sum(v for k, v in got.items() if k[0] == "caremesh_authorization_requests_total") == 4.0
    assert "rp-a" not in text  # no patient ids as labels


async def test_worklists_show_what_needs_doing_oldest_first(setup, insurance, namespace, amqp_url):
    payer = f"Work Health {namespace[-6:]}"
    auths = await seeded(setup, insurance, payer)
    cov = (await insurance.get("/coverages", params={"patient_id": "rp-a"})).json()[0]
    fresh = (
        await insurance.post(
            "/authorizations", json={"patient_id": "rp-a", "coverage_id": cov["id"], "service_code": "97110"}
        )
    ).json()
    listed = (await insurance.get("/worklists/authorizations/to-submit", params={"payer": payer})).json()
    assert [a["id"] for a in listed] == [fresh["id"]]
    waiting = (await insurance.get("/worklists/authorizations/waiting-on-payer", params={"payer": payer})).json()
    assert [(a["id"], a["overdue"]) for a in waiting] == [(auths["d"]["id"], False)]
    assert (
        await insurance.get("/worklists/authorizations/waiting-on-payer", params={"payer": payer, "overdue": "true"})
    ).json() == []
    denials = (await insurance.get("/worklists/authorizations/denials", params={"payer": payer})).json()
    assert [(a["id"], a["denial"]["reason_code"]) for a in denials] == [(auths["b"]["id"], "N1")]
    assert (await insurance.get("/worklists/authorizations/denials", params={"payer": "nobody"})).json() == []
    assert (await insurance.get("/worklists/authorizations/denials", headers=bearer("clinician"))).status_code == 403

    async with EventCapture(amqp_url, namespace, "insurance.eligibility.*") as cap:
        for appointment, days in (("a-soon", 3), ("a-later", 10)):
            await publish_event(amqp_url, namespace, requested("no-cover", appointment, days=days))
        await cap.wait_for(EligibilityDenied, count=2)
    failing = (await insurance.get("/worklists/eligibility-failures")).json()
    assert [(f["appointment_id"], f["reason"]) for f in failing] == [("a-soon", "no_coverage")]
    assert [
        f["appointment_id"]
        for f in (await insurance.get("/worklists/eligibility-failures", params={"days": 14})).json()
    ] == ["a-soon", "a-later"]
    trail = (await insurance.get("/audit", params={"patient_id": "rp-d"}, headers=bearer("admin"))).json()
    assert any(e["route"] == "GET /worklists/authorizations/waiting-on-payer" for e in trail)


async def test_the_correspondence_log_is_linked_append_only_and_audited(setup, insurance, namespace, amqp_url):
    auths = await seeded(setup, insurance, f"Mail Health {namespace[-6:]}")
    auth = auths["b"]
    cov_id = auth["coverage_id"]
    async with EventCapture(amqp_url, namespace, "insurance.#") as cap:
        await publish_event(amqp_url, namespace, requested("rp-b", "a-corr", "99213", days=3))
        await cap.wait_for(EligibilityDenied)  # the plan lacks 99213: insurance knows the visit anyway
    when = (NOW - timedelta(hours=2)).isoformat()
    entries = [
        {
            "kind": "call",
            "direction": "outbound",
            "contact": "J. Smith, UM desk",
            "reference": "CALL-123",
            "summary": "Asked for the status; clinical notes requested.",
            "authorization_id": auth["id"],
        },
        {
            "kind": "fax",
            "direction": "inbound",
            "contact": "Payer UM fax",
            "reference": "+1 555 0100 / 4471",
            "summary": "Denial letter received.",
            "authorization_id": auth["id"],
            "coverage_id": cov_id,
        },
        {
            "kind": "portal_message",
            "contact": "Payer portal",
            "reference": "MSG-9",
            "summary": "Visit question.",
            "appointment_id": "a-corr",
        },
        {
            "kind": "document",
            "contact": "Member services",
            "reference": "DOC-2",
            "summary": "Benefits summary.",
            "coverage_id": cov_id,
        },
    ]
    made = []
    for e in entries:
        r = await insurance.post("/correspondence", json=e | {"occurred_at": when})
        assert r.status_code == 201, r.text
        made.append(r.json())
    assert {m["patient_id"] for m in made} == {"rp-b"} and made[0]["recorded_by"] == "test-user"
    assert made[0]["payer"] and made[2]["payer"] is None
    by_auth = (await insurance.get("/correspondence", params={"authorization_id": auth["id"]})).json()
    assert sorted(m["reference"] for m in by_auth) == ["+1 555 0100 / 4471", "CALL-123"]
    assert len((await insurance.get("/correspondence", params={"patient_id": "rp-b"})).json()) == 4
    assert (await insurance.get(f"/correspondence/{made[3]['id']}")).json()["kind"] == "document"

    other_cov = (await insurance.get("/coverages", params={"patient_id": "rp-a"})).json()[0]["id"]
    base = entries[0] | {"occurred_at": when}
    for body, field in [
        ({k: v for k, v in base.items() if k != "authorization_id"}, None),  # linked to nothing
        (base | {"occurred_at": (NOW + timedelta(days=1)).isoformat()}, "occurred_at"),
        (base | {"coverage_id": other_cov}, "coverage_id"),
        (base | {"authorization_id": None, "coverage_id": other_cov, "appointment_id": "a-corr"}, "appointment_id"),
        (base | {"authorization_id": None, "appointment_id": "unknown"}, "appointment_id"),
        (base | {"kind": "telegram"}, "kind"),
    ]:
        r = await insurance.post("/correspondence", json=body)
        assert r.status_code == 422, body
        assert field is None or field in ([r.json().get("field")] + [e["field"] for e in r.json().get("errors", [])])
    assert (await insurance.put(f"/correspondence/{made[0]['id']}", json=entries[0])).status_code == 405
    assert (await insurance.delete(f"/correspondence/{made[0]['id']}")).status_code == 405
    assert (await insurance.get("/correspondence")).status_code == 422
    assert (
        await insurance.get(
            "/correspondence", params={"patient_id": "rp-b"}, headers=bearer("patient", patient_id="rp-b")
        )
    ).status_code == 403
    trail = (await insurance.get("/audit", params={"patient_id": "rp-b"}, headers=bearer("admin"))).json()
    seen = {(e["action"], e["resource_type"]) for e in trail}
    assert {("create", "PayerCorrespondence"), ("read", "PayerCorrespondence")} <= seen
