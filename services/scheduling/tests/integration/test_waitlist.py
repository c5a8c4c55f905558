"""The waitlist over HTTP, on the real broker and store: a cancellation feeds it."""

from datetime import UTC, datetime, timedelta

from caremesh_contracts.waitlist import WaitlistEntryAccepted, WaitlistEntryOffered, WaitlistOfferLapsed
from caremesh_kit.codes import ICD10CM
from caremesh_kit.links import DEV_OFFER_LINK_SECRET, OfferAction, offer_token
from caremesh_scheduling.app import build
from caremesh_scheduling.settings import SchedulingSettings
from caremesh_testing import EventCapture, bearer, eventually, running, service_settings


async def freed_slot(client, clinic, patients: list[tuple[str, int]], **extra) -> tuple[dict, dict, list[dict]]:
    """A booked appointment and waitlist entries (patient, priority) for its practitioner."""
    c = await clinic(client, name="Dr. Wait")
    slot = await c.first_slot(datetime.now(UTC) + timedelta(days=2))
    appt = (await c.book(slot["slot_id"], "p-first")).json()
    entries = []
    for patient, priority in patients:
        r = await client.post(
            "/waitlist",
            json={
                "patient_id": patient,
                "service_code": "99213",
                "practitioner_id": c.practitioner["id"],
                "priority": priority,
            }
            | extra.get(patient, {}),
        )
        assert r.status_code == 201, r.text
        entries.append(r.json())
    return c, appt, entries


def link(offer: WaitlistEntryOffered, action: OfferAction) -> str:
    token = offer_token(DEV_OFFER_LINK_SECRET, offer.offer_id, action, offer.expires_at)
    return f"/waitlist/offers/{offer.offer_id}/{action.value}?token={token}"


async def test_a_cancellation_is_offered_to_the_best_match_and_accepting_books_it(
    scheduling, clinic, namespace, amqp_url
):
    r = await scheduling.post(
        "/referrals",
        json={
            "patient_id": "p-high",
            "service_code": "99213",
            "referring": {"name": "Dr. Refer"},
            "reasons": [{"system": ICD10CM, "code": "M54.5", "display": "Low back pain"}],
        },
    )
    referral = r.json()
    c, appt, [low, high] = await freed_slot(
        scheduling, clinic, [("p-low", 1), ("p-high", 3)], **{"p-high": {"referral_id": referral["id"]}}
    )
    async with EventCapture(amqp_url, namespace, "scheduling.waitlist_entry.*") as cap:
        await scheduling.post(f"/appointments/{appt['id']}/cancel", json={"reason_code": "pat"})
        [offer] = await cap.wait_for(WaitlistEntryOffered)
        assert (offer.entry_id, offer.patient_id, offer.practitioner_name) == (high["id"], "p-high", "Dr. Wait")
        assert offer.start.isoformat() == datetime.fromisoformat(appt["start"]).isoformat()
        # The slot is held for the offer.
        r = await c.book(appt["slot_id"], "p-walk-in")
        assert r.status_code == 409, r.text
        page = (await scheduling.get("/worklists/waitlist-offers")).json()
        assert [i["id"] for i in page["items"]] == [high["id"]]
        # A forged or misdirected token is refused.
        bad = link(offer, OfferAction.DECLINE).replace("/decline?", "/accept?")
        assert (await scheduling.post(bad, headers={"Authorization": ""})).status_code == 403
        # Following the link shows the offer; only posting it accepts.
        r = await scheduling.get(link(offer, OfferAction.ACCEPT), headers={"Authorization": ""})
        assert (r.status_code, r.json()["state"]) == (200, "open"), r.text
        r = await scheduling.post(link(offer, OfferAction.ACCEPT), headers={"Authorization": ""})
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "accepted"
        [accepted] = await cap.wait_for(WaitlistEntryAccepted)
    assert accepted.appointment_id == r.json()["appointment_id"]
    booked = (await scheduling.get(f"/appointments/{accepted.appointment_id}")).json()
    assert (booked["patient_id"], booked["slot_id"]) == ("p-high", appt["slot_id"])
    assert (await scheduling.get(f"/waitlist/{high['id']}")).json()["status"] == "booked"
    assert (await scheduling.get(f"/waitlist/{low['id']}")).json()["status"] == "waiting"
    # The entry was made for a referral: the visit is linked to it.
    linked = (await scheduling.get(f"/referrals/{referral['id']}")).json()
    assert (linked["status"], linked["appointment_id"]) == ("scheduled", accepted.appointment_id)
    # Posting the link again changes nothing, and says so.
    again = await scheduling.post(link(offer, OfferAction.ACCEPT), headers={"Authorization": ""})
    assert again.status_code == 409, again.text
    assert (again.json()["current"], again.json()["appointment_id"]) == ("accepted", accepted.appointment_id)


async def test_declining_passes_the_slot_to_the_next_match(scheduling, clinic, namespace, amqp_url):
    c, appt, [first, second] = await freed_slot(scheduling, clinic, [("p-a", 2), ("p-b", 1)])
    async with EventCapture(amqp_url, namespace, "scheduling.waitlist_entry.*") as cap:
        await scheduling.post(f"/appointments/{appt['id']}/cancel", json={"reason_code": "pat"})
        [offer] = await cap.wait_for(WaitlistEntryOffered)
        assert offer.entry_id == first["id"]
        own = bearer("patient", subject="p-a-user", patient_id="p-a")
        r = await scheduling.post(f"/waitlist/offers/{offer.offer_id}/declined", headers=own)
        assert r.status_code == 200, r.text
        [lapsed] = await cap.wait_for(WaitlistOfferLapsed)
        [_, nxt] = await cap.wait_for(WaitlistEntryOffered, count=2)
    assert (lapsed.entry_id, lapsed.reason) == (first["id"], "declined")
    assert nxt.entry_id == second["id"] and nxt.offer_id != offer.offer_id
    assert (await scheduling.get(f"/waitlist/{first['id']}")).json()["status"] == "waiting"
    # Removing the entry holding the offer lets the hold go: nobody else fits, so the time is free.
    async with EventCapture(amqp_url, namespace, "scheduling.waitlist_entry.*") as cap:
        assert (await scheduling.delete(f"/waitlist/{second['id']}")).json()["status"] == "removed"
        [gone] = await cap.wait_for(WaitlistOfferLapsed)
    assert gone.entry_id == second["id"]

    async def free_again():
        return (await c.book(appt["slot_id"], "p-walk-in")).status_code == 201

    await eventually(free_again, what="the slot bookable again")
    # A patient may not put someone else on the waitlist.
    r = await scheduling.post("/waitlist", json={"patient_id": "p-b", "service_code": "99213"}, headers=own)
    assert r.status_code == 403


async def test_an_unanswered_offer_expires_and_passes_on(namespace, amqp_url, clinic):
    settings = service_settings(
        SchedulingSettings, namespace, offer_hold_seconds=1, referral_waitlist_sweep_seconds=0.2
    )
    async with running(build(settings)) as client:
        _, appt, [first, second] = await freed_slot(client, clinic, [("p-x", 1), ("p-y", 1)])
        async with EventCapture(amqp_url, namespace, "scheduling.waitlist_entry.*") as cap:
            await client.post(f"/appointments/{appt['id']}/cancel", json={"reason_code": "pat"})
            [lapsed] = await cap.wait_for(WaitlistOfferLapsed)
            offers = await cap.wait_for(WaitlistEntryOffered, count=2)
        assert lapsed.reason == "expired" and lapsed.entry_id == first["id"]
        assert [o.entry_id for o in offers[:2]] == [first["id"], second["id"]]
