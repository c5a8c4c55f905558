"""Waitlist offer links on the real broker and store: following a link (GET, as a mail scanner or a
link preview does) changes nothing; only POSTing the same link answers the offer, once; an expired
or tampered token gets its own clear answer."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from caremesh_contracts.waitlist import WaitlistEntryAccepted, WaitlistEntryOffered, WaitlistOfferLapsed
from caremesh_kit.links import DEV_OFFER_LINK_SECRET, OfferAction, offer_token
from caremesh_scheduling.app import build
from caremesh_scheduling.settings import SchedulingSettings
from caremesh_testing import EventCapture, running, service_settings

PROBLEM = "application/problem+json"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "Authorization": ""}
ANONYMOUS = {"Authorization": ""}  # the link's token is the only credential


@pytest.fixture
async def scheduling(namespace):
    async with running(build(service_settings(SchedulingSettings, namespace))) as client:
        yield client


def link(offer: WaitlistEntryOffered, action: OfferAction, expires_at: datetime | None = None) -> str:
    token = offer_token(DEV_OFFER_LINK_SECRET, offer.offer_id, action, expires_at or offer.expires_at)
    return f"/waitlist/offers/{offer.offer_id}/{action.value}?token={token}"


async def freed_slot(client: httpx.AsyncClient, patients: list[str]) -> tuple[dict, list[dict]]:
    """A booked appointment in a clinic open all week, and waitlist entries for its practitioner."""
    r = await client.post("/locations", json={"name": "Link St", "time_zone": "Europe/Berlin", "rooms": [{"id": "R1"}]})
    location = r.json()
    r = await client.post("/service-types", json={"code": "99213", "name": "Office visit", "duration_minutes": 30})
    service = r.json()
    practitioner = (await client.post("/practitioners", json={"name": "Dr. Link", "time_zone": "Europe/Berlin"})).json()
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    weekly = [{"day": d, "start": "00:00", "end": "23:55", "room": "R1"} for d in days]
    r = await client.put(
        f"/practitioners/{practitioner['id']}/templates/{location['id']}",
        json={"service_type_ids": [service["id"]], "weekly": weekly},
    )
    assert r.status_code == 201, r.text
    after = datetime.now(UTC) + timedelta(days=2)
    days = {"from": str(after.date() - timedelta(days=1)), "to": str(after.date() + timedelta(days=1))}
    params = {"practitioner_id": practitioner["id"], "service_type_id": service["id"], "limit": 200} | days
    free = (await client.get("/availability", params=params)).json()["items"]
    slot = next(s for s in free if datetime.fromisoformat(s["start"]) >= after)
    appt = (await client.post("/appointments", json={"patient_id": "p-booked", "slot_id": slot["slot_id"]})).json()
    entries = []
    for patient in patients:
        wish = {"patient_id": patient, "service_code": "99213", "practitioner_id": practitioner["id"]}
        r = await client.post("/waitlist", json=wish)
        assert r.status_code == 201, r.text
        entries.append(r.json())
    return appt, entries


async def status(client: httpx.AsyncClient, entry: dict) -> tuple[str, str | None]:
    e = (await client.get(f"/waitlist/{entry['id']}")).json()
    return e["status"], e["appointment_id"]


async def test_following_a_link_changes_nothing_and_posting_it_answers_once(scheduling, namespace, amqp_url):
    appt, [first, second] = await freed_slot(scheduling, ["p-first-wait", "p-second-wait"])
    async with EventCapture(amqp_url, namespace, "scheduling.waitlist_entry.*") as cap:
        await scheduling.post(f"/appointments/{appt['id']}/cancel", json={"reason_code": "pat"})
        [offer] = await cap.wait_for(WaitlistEntryOffered)
        assert offer.entry_id == first["id"]

        # Both links followed, as a scanner would, many times: the offer stays open, nothing booked.
        for action in OfferAction:
            for headers in (ANONYMOUS, BROWSER):
                r = await scheduling.get(link(offer, action), headers=headers)
                assert r.status_code == 200, r.text
                assert r.headers["cache-control"] == "no-store" and r.headers["referrer-policy"] == "no-referrer"
        assert await status(scheduling, first) == ("offered", None)
        shown = (await scheduling.get(link(offer, OfferAction.ACCEPT), headers=ANONYMOUS)).json()
        assert (shown["state"], shown["action"], shown["practitioner_name"]) == ("open", "accept", "Dr. Link")
        assert shown["does"].startswith("POST this link")
        page = await scheduling.get(link(offer, OfferAction.ACCEPT), headers=BROWSER)
        assert page.headers["content-type"].startswith("text/html")
        token = link(offer, OfferAction.ACCEPT).split("token=")[1]
        assert f'<form method="post" action="accept?token={token}">' in page.text  # the same link, POSTed
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert cap.of(WaitlistEntryAccepted) == [] and cap.of(WaitlistOfferLapsed) == []

        # The first patient declines by POSTing the link; the slot passes to the second.
        r = await scheduling.post(link(offer, OfferAction.DECLINE), headers=ANONYMOUS)
        assert (r.status_code, r.json()["state"]) == (200, "declined"), r.text
        [lapsed] = await cap.wait_for(WaitlistOfferLapsed)
        [_, nxt] = await cap.wait_for(WaitlistEntryOffered, count=2)
    assert (lapsed.entry_id, lapsed.reason, nxt.entry_id) == (first["id"], "declined", second["id"])
    # Replays of the first offer's links: 409, naming what happened.
    for action in OfferAction:
        r = await scheduling.post(link(offer, action), headers=ANONYMOUS)
        assert (r.status_code, r.headers["content-type"]) == (409, PROBLEM), r.text
        assert (r.json()["current"], r.json()["requested"]) == ("declined", action.value)

    # The second patient's browser: the page, then its form's POST books.
    async with EventCapture(amqp_url, namespace, "scheduling.waitlist_entry.*") as cap:
        assert (await scheduling.get(link(nxt, OfferAction.ACCEPT), headers=BROWSER)).status_code == 200
        assert await status(scheduling, second) == ("offered", None)
        r = await scheduling.post(link(nxt, OfferAction.ACCEPT), headers=BROWSER)
        assert r.status_code == 200 and "Your appointment is booked" in r.text, r.text
        [accepted] = await cap.wait_for(WaitlistEntryAccepted)
    assert await status(scheduling, second) == ("booked", accepted.appointment_id)
    booked = (await scheduling.get(f"/appointments/{accepted.appointment_id}")).json()
    assert (booked["patient_id"], booked["slot_id"]) == ("p-second-wait", appt["slot_id"])
    # Posted again (a double click, a replayed request): 409, the same appointment, nothing new.
    for action in OfferAction:
        r = await scheduling.post(link(nxt, action), headers=ANONYMOUS)
        assert r.status_code == 409 and r.headers["content-type"] == PROBLEM, r.text
        assert (r.json()["current"], r.json()["appointment_id"]) == ("accepted", accepted.appointment_id)
    # Following it again describes what became of the offer, and offers no button.
    shown = await scheduling.get(link(nxt, OfferAction.ACCEPT), headers=ANONYMOUS)
    assert (shown.json()["state"], shown.json()["does"]) == ("accepted", "")
    assert "<form" not in (await scheduling.get(link(nxt, OfferAction.ACCEPT), headers=BROWSER)).text
    assert await status(scheduling, second) == ("booked", accepted.appointment_id)


async def test_an_expired_or_tampered_link_gets_a_clear_answer(scheduling, namespace, amqp_url):
    appt, [entry] = await freed_slot(scheduling, ["p-late-wait"])
    async with EventCapture(amqp_url, namespace, "scheduling.waitlist_entry.*") as cap:
        await scheduling.post(f"/appointments/{appt['id']}/cancel", json={"reason_code": "pat"})
        [offer] = await cap.wait_for(WaitlistEntryOffered)
    good = link(offer, OfferAction.ACCEPT)
    expiry = good.split("token=")[1].split(".")[0]
    past = datetime.now(UTC) - timedelta(minutes=5)
    tampered = {
        "another mac": good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),
        "a later expiry": good.replace(f"token={expiry}.", f"token={int(expiry) + 86400}."),
        "the decline token": link(offer, OfferAction.DECLINE).replace("/decline?", "/accept?"),
        "another offer's path": good.replace(offer.offer_id, "not-this-offer"),
        "no token": good.split("?")[0],
        "garbage": good.split("?")[0] + "?token=abc",
    }
    for method in ("GET", "POST"):
        r = await scheduling.request(method, link(offer, OfferAction.ACCEPT, expires_at=past), headers=ANONYMOUS)
        assert (r.status_code, r.headers["content-type"]) == (410, PROBLEM), r.text
        assert r.json()["title"] == "Link expired" and "expired at" in r.json()["detail"]
        assert datetime.fromisoformat(r.json()["expired_at"]) == datetime.fromtimestamp(int(past.timestamp()), UTC)
        for what, url in tampered.items():
            r = await scheduling.request(method, url, headers=ANONYMOUS)
            assert (r.status_code, r.headers["content-type"]) == (403, PROBLEM), (method, what, r.text)
            assert r.json()["detail"] == "the link is not valid", (method, what)
    # None of it touched the offer; the real link still works.
    assert await status(scheduling, entry) == ("offered", None)
    r = await scheduling.post(good, headers=ANONYMOUS)
    assert (r.status_code, r.json()["state"]) == (200, "accepted"), r.text


def test_the_openapi_says_what_the_links_answer():
    spec = build(SchedulingSettings(api_docs=True)).openapi()
    for action in OfferAction:
        item = spec["paths"][f"/waitlist/offers/{{offer_id}}/{action.value}"]
        got, posted = item["get"]["responses"], item["post"]["responses"]
        assert set(got) == {"200", "403", "404", "410", "422", "500"}  # no 409: following changes nothing
        assert set(posted) == {"200", "403", "404", "409", "410", "422", "500"}
        for answer in (got["200"], posted["200"]):
            assert set(answer["content"]) == {"application/json", "text/html"}
            assert {"Cache-Control", "Referrer-Policy", "Content-Security-Policy"} <= set(answer["headers"])
        assert got["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/OfferLink"}
        assert posted["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/LinkAnswer"}
        assert "expired" in got["410"]["description"] and "not valid" in got["403"]["description"]
        assert "answered already" in posted["409"]["description"]
        assert "security" not in item["get"] and "security" not in item["post"]  # the token is the credential
