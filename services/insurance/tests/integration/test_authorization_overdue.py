"""An overdue decision emits insurance.authorization.overdue exactly once: with two instances of
the service sweeping the same store and namespace every 0.2 s, and again after both stop and a
new one starts. The deadline lies in the past because the payer received the request earlier
than it is recorded (``received_at``)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pymongo import AsyncMongoClient

from caremesh_contracts import AuthorizationOverdue
from caremesh_insurance.app import build
from caremesh_testing import EventCapture, bearer, publish_event, wait_settled

from .conftest import Setup, requested


@contextlib.asynccontextmanager
async def serving(app) -> AsyncIterator[httpx.AsyncClient]:
    """Like ``running``, but leaves the database for the next instance (a restart)."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://service", headers=bearer()
        ) as client,
    ):
        yield client


@pytest.fixture
async def database(settings):
    yield
    client = AsyncMongoClient(settings.mongodb_url)
    await client.drop_database(settings.mongodb_db)
    await client.close()


def overdue_ids(cap: EventCapture) -> set[str]:
    return {m.headers["ce-id"] for m in cap.messages if m.headers["ce-type"] == AuthorizationOverdue.ce_type()}


def overdue_count(metrics: str, payer: str) -> float:
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == "caremesh_authorization_overdue_total" and sample.labels.get("payer") == payer:
                return sample.value
    return 0.0


async def test_an_overdue_decision_is_reported_once_by_two_instances_and_after_a_restart(
    settings, database, namespace, amqp_url
):
    payer_name = f"Slow Payer {namespace[-6:]}"
    async with EventCapture(amqp_url, namespace, "insurance.authorization.*") as cap:
        async with serving(build(settings)) as first, serving(build(settings)):
            setup = Setup(first)
            payer = await setup.payer(name=payer_name)
            plan = await setup.plan(payer["id"], services=[{"code": "97110", "prior_authorization": True}])
            await setup.coverage("od1", plan["id"])
            await publish_event(amqp_url, namespace, requested("od1", "a-od1", "97110", days=3))
            await wait_settled(namespace)
            [auth] = (await first.get("/authorizations", params={"patient_id": "od1"})).json()
            url = f"/authorizations/{auth['id']}"
            await first.post(f"{url}/draft", json={})
            received = datetime.now(UTC) - timedelta(days=7, minutes=1)  # a standard request, 7 days and a minute ago
            r = await first.post(f"{url}/submit", json={"units_requested": 4, "received_at": received.isoformat()})
            assert r.status_code == 200, r.text
            assert r.json()["overdue"] is True  # already past its deadline; the event comes from a sweeper
            event = (await cap.wait_for(AuthorizationOverdue))[0]
            await asyncio.sleep(2)  # about 10 more sweeps by each instance
            await wait_settled(namespace)
            # Once: one event id. (Each replica's relay may publish a commit's events again, with the
            # same ce-id; consumers absorb that, see "Delivery guarantees".)
            assert len(overdue_ids(cap)) == 1
            assert (event.authorization_id, event.appointment_id, event.priority) == (auth["id"], "a-od1", "standard")
            assert event.decision_due == received.replace(microsecond=received.microsecond // 1000 * 1000) + timedelta(
                days=7
            )
            body = (await first.get(url)).json()
            assert (body["requests"][0]["overdue_reported"], body["next_review_at"]) == (True, None)
            # Only the commit that won counts (both instances run in this process, on one registry).
            metrics = (await first.get("/metrics", headers=bearer("service"))).text
            assert overdue_count(metrics, payer_name) == 1.0
            waiting = (
                await first.get(
                    "/worklists/authorizations/waiting-on-payer", params={"payer": payer_name, "overdue": "true"}
                )
            ).json()
            assert [(w["id"], w["overdue"]) for w in waiting] == [(auth["id"], True)]
        # Both stopped; a new instance starts on the same store and namespace.
        async with serving(build(settings)) as restarted:
            await asyncio.sleep(2)
            await wait_settled(namespace)
            assert len(overdue_ids(cap)) == 1
            assert (await restarted.get(url)).json()["status"] == "submitted"
