"""The availability search as a pure function: order across zones, paging, time of day, busy time
(practitioner, shared room, patient), coverage."""

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from caremesh_kit.errors import Invalid
from caremesh_scheduling.domain import (
    Busy,
    BusyIndex,
    Calendar,
    KnownCoverage,
    Location,
    LocationDetails,
    PatientCoverage,
    Query,
    Room,
    ServiceType,
    ServiceTypeDetails,
    Template,
    TemplateSpec,
    TimeOff,
    Window,
    decode_cursor,
    search,
)
from caremesh_scheduling.domain.slots import day_slots

NOW = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
CHECKUP = ServiceType(id="checkup", details=ServiceTypeDetails(code="99213", name="Checkup", duration_minutes=30))
LONG = ServiceType(id="long", details=ServiceTypeDetails(code="99215", name="Long visit", duration_minutes=60))
NYC = Location(id="nyc", details=LocationDetails(name="NYC", time_zone="America/New_York", rooms=[Room(id="A")]))
BER = Location(
    id="ber", details=LocationDetails(name="Berlin", time_zone="Europe/Berlin", rooms=[Room(id="A"), Room(id="B")])
)


def template(
    practitioner: str, location: Location, start="09:00", end="11:00", room="A", services=("checkup",), **kw
) -> Template:
    windows = [
        Window(day=d, start=time.fromisoformat(start), end=time.fromisoformat(end), room=room)
        for d in ("mon", "tue", "wed", "thu", "fri")
    ]
    return Template(
        id=f"{practitioner}:{location.id}",
        practitioner_id=practitioner,
        location_id=location.id,
        spec=TemplateSpec(service_type_ids=list(services), weekly=windows, **kw),
        updated_at=NOW,
        updated_by="t",
    )


def calendar(*templates: Template, busy: list[Busy] = ()) -> Calendar:
    return Calendar(
        templates=templates,
        locations={"nyc": NYC, "ber": BER},
        service_types={"checkup": CHECKUP, "long": LONG},
        busy=BusyIndex(busy),
    )


def held(
    practitioner: str, location: str, room: str, patient: str, start: datetime, minutes=30, before=0, after=0
) -> Busy:
    end = start + timedelta(minutes=minutes)
    return Busy(
        "a-" + patient,
        practitioner,
        location,
        room,
        patient,
        start,
        end,
        start - timedelta(minutes=before),
        end + timedelta(minutes=after),
    )


def q(**kw) -> Query:
    return Query(**({"from_date": date(2026, 3, 2), "to_date": date(2026, 3, 2), "limit": 100} | kw))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_results_interleave_zones_in_real_time_order():
    cal = calendar(template("dr-ny", NYC), template("dr-ber", BER))
    slots, cursor = search(cal, q(), NOW)
    assert cursor is None
    # Monday 2 March: Berlin 09:00 CET is 08:00 UTC, New York 09:00 EST is 14:00 UTC.
    assert [(s.practitioner_id, s.start.hour, s.start.minute) for s in slots] == [
        ("dr-ber", 8, 0),
        ("dr-ber", 8, 30),
        ("dr-ber", 9, 0),
        ("dr-ber", 9, 30),
        ("dr-ny", 14, 0),
        ("dr-ny", 14, 30),
        ("dr-ny", 15, 0),
        ("dr-ny", 15, 30),
    ]
    assert slots[0].id == "dr-ber.ber.checkup.20260302T0800Z" and slots[0].room == "A"


def test_pages_follow_on_without_gaps_or_repeats():
    cal = calendar(*(template(f"dr-{i}", NYC if i % 2 else BER, services=("checkup", "long")) for i in range(5)))
    whole, _ = search(cal, q(to_date=date(2026, 3, 6), limit=200), NOW)
    pages, cursor = [], None
    while True:
        page, cursor = search(
            cal, q(to_date=date(2026, 3, 6), limit=7, after=decode_cursor(cursor) if cursor else None), NOW
        )
        pages += page
        if cursor is None:
            break
    assert [s.id for s in pages] == [s.id for s in whole] and len(whole) == 5 * 5 * (4 + 2)
    keys = [(s.start, s.practitioner_id, s.location_id, s.service_type_id) for s in whole]
    assert keys == sorted(keys)


def test_filters_by_service_practitioner_and_location():
    cal = calendar(template("dr-a", NYC, services=("checkup", "long")), template("dr-b", BER))
    assert {s.service_type_id for s in search(cal, q(service_type_id="long"), NOW)[0]} == {"long"}
    assert {s.practitioner_id for s in search(cal, q(practitioner_id="dr-b"), NOW)[0]} == {"dr-b"}
    assert {s.location_id for s in search(cal, q(location_id="nyc"), NOW)[0]} == {"nyc"}
    assert search(cal, q(service_type_id="nope"), NOW)[0] == []


@pytest.mark.parametrize(
    "day,utc_hour", [(date(2026, 3, 6), 14), (date(2026, 3, 9), 13)], ids=["before-dst", "after-dst"]
)
def test_time_of_day_is_local_wall_clock_on_both_sides_of_dst(day, utc_hour):
    cal = calendar(template("dr-ny", NYC, start="08:00", end="12:00"))
    slots, _ = search(cal, q(from_date=day, to_date=day, time_from=time(9), time_to=time(10)), NOW)
    assert [(s.start.hour, s.start.minute) for s in slots] == [(utc_hour, 0), (utc_hour, 30)]


def test_booked_time_is_excluded_for_the_practitioner_with_buffers():
    t = template("dr-ny", NYC, buffer_after_minutes=10, slot_interval_minutes=10)
    # Held 14:00-14:30 UTC with a 10-minute buffer after: the footprint runs to 14:40.
    cal = calendar(t, busy=[held("dr-ny", "nyc", "A", "p1", utc(2026, 3, 2, 14), after=10)])
    starts = [s.start for s in search(cal, q(), NOW)[0]]
    assert utc(2026, 3, 2, 14, 0) not in starts and utc(2026, 3, 2, 14, 30) not in starts
    assert starts[0] == utc(2026, 3, 2, 14, 40)


def test_a_shared_room_is_busy_for_the_other_practitioner():
    cal = calendar(
        template("dr-a", BER, room="B"),
        template("dr-b", BER, room="B"),
        busy=[held("dr-a", "ber", "B", "p1", utc(2026, 3, 2, 8))],
    )
    slots = search(cal, q(), NOW)[0]
    assert not [s for s in slots if s.start == utc(2026, 3, 2, 8)]
    assert len([s for s in slots if s.start == utc(2026, 3, 2, 8, 30)]) == 2


def test_a_patient_is_not_offered_times_they_are_already_booked():
    cal = calendar(template("dr-a", NYC), busy=[held("dr-x", "ber", "A", "p1", utc(2026, 3, 2, 14, 15))])
    everyone = {s.start for s in search(cal, q(), NOW)[0]}
    covered = PatientCoverage(id="p1", coverages=[KnownCoverage(coverage_id="c", period_start=date(2026, 1, 1))])
    for_p1 = {s.start for s in search(cal, q(patient_id="p1"), NOW, covered)[0]}
    assert everyone - for_p1 == {utc(2026, 3, 2, 14), utc(2026, 3, 2, 14, 30)}


def test_coverage_limits_dates_and_services():
    cal = calendar(template("dr-a", NYC, services=("checkup", "long")))
    week = q(from_date=date(2026, 3, 2), to_date=date(2026, 3, 6), patient_id="p1")
    dates_only = PatientCoverage(id="p1", coverages=[KnownCoverage(coverage_id="c1", period_start=date(2026, 3, 4))])
    assert {s.start.date() for s in search(cal, week, NOW, dates_only)[0]} == {date(2026, 3, d) for d in (4, 5, 6)}
    codes = PatientCoverage(
        id="p1",
        coverages=[
            KnownCoverage(coverage_id="c1", period_start=date(2026, 1, 1), service_codes=["99213"], coverage_version=2)
        ],
    )
    assert {s.service_code for s in search(cal, week, NOW, codes)[0]} == {"99213"}
    cancelled = PatientCoverage(
        id="p1",
        coverages=[
            KnownCoverage(coverage_id="c1", period_start=date(2026, 1, 1), status="cancelled", coverage_version=3)
        ],
    )
    assert search(cal, week, NOW, cancelled)[0] == []
    assert search(cal, week, NOW, None)[0] == []  # nothing known of the patient's coverage


def test_the_newest_coverage_snapshot_wins_whatever_the_order():
    c = PatientCoverage(id="p1")
    assert c.changed(
        KnownCoverage(coverage_id="c1", period_start=date(2026, 1, 1), service_codes=["99213"], coverage_version=3)
    )
    assert not c.changed(
        KnownCoverage(coverage_id="c1", period_start=date(2026, 1, 1), service_codes=[], coverage_version=2)
    )
    assert not c.registered(KnownCoverage(coverage_id="c1", payer="Acme", period_start=date(2026, 1, 1)))
    assert c.allows(date(2026, 3, 2), "99213") and not c.allows(date(2026, 3, 2), "99215")


def test_past_slots_and_bad_cursors():
    cal = calendar(template("dr-ny", NYC))
    later = utc(2026, 3, 2, 15, 0)
    assert [s.start for s in search(cal, q(), later)[0]] == [utc(2026, 3, 2, 15, 30)]
    with pytest.raises(Invalid) as exc:
        decode_cursor("garbage!")
    assert exc.value.extra == {"field": "cursor"}


# -- the search against every derived slot, checked one by one ----------------------------------------


def reference(cal: Calendar, q: Query, now: datetime, coverage: PatientCoverage | None = None) -> list:
    """What a search must return, page by page: every slot the templates derive on the local dates
    asked for, in key order, kept if free (derived and checked one by one)."""
    if q.patient_id and coverage is None:
        return []
    candidates = []
    for t in cal.templates:
        location = cal.locations.get(t.location_id)
        if (
            location is None
            or q.practitioner_id not in (None, t.practitioner_id)
            or q.location_id not in (None, t.location_id)
        ):
            continue
        tz = ZoneInfo(location.time_zone)
        for sid in t.spec.service_type_ids:
            service = cal.service_types.get(sid)
            if service is None or q.service_type_id not in (None, sid):
                continue
            day = q.from_date
            while day <= q.to_date:
                if coverage is None or coverage.allows(day, service.code):
                    for span in day_slots(t.spec, tz, day, service.duration_minutes):
                        key = (span.start, t.practitioner_id, t.location_id, sid)
                        if span.start > now and (q.after is None or key > q.after):
                            candidates.append((key, t, tz, span))
                day += timedelta(days=1)
    out = []
    for key, t, tz, span in sorted(candidates, key=lambda c: c[0]):
        local_start, local_end = span.start.astimezone(tz).time(), span.end.astimezone(tz).time()
        if (q.time_from and local_start < q.time_from) or (q.time_to and local_end > q.time_to):
            continue
        fp = (
            span.start - timedelta(minutes=t.spec.buffer_before_minutes),
            span.end + timedelta(minutes=t.spec.buffer_after_minutes),
        )
        if cal.busy.overlaps(f"pr:{t.practitioner_id}", *fp) or cal.busy.overlaps(
            f"room:{t.location_id}/{span.room}", *fp
        ):
            continue
        if q.patient_id and cal.busy.overlaps(f"pat:{q.patient_id}", span.start, span.end):
            continue
        out.append(f"{key[1]}.{key[2]}.{key[3]}.{key[0]:%Y%m%dT%H%MZ}|{span.room}|{span.end:%H%M}")
    return out


ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "UTC",
]


def random_calendar(rng: random.Random, start: date) -> tuple[Calendar, list[str]]:
    locations = {
        f"L{i}": Location(
            id=f"L{i}", details=LocationDetails(name=f"L{i}", time_zone=zone, rooms=[Room(id="A"), Room(id="B")])
        )
        for i, zone in enumerate(ZONES)
    }
    services = {
        f"S{d}": ServiceType(id=f"S{d}", details=ServiceTypeDetails(code=code, name="s", duration_minutes=d))
        for d, code in ((15, "99212"), (30, "99213"), (45, "99214"), (60, "99215"))
    }
    templates, patients = [], ["p0", "p1", "p2"]
    for i in range(8):
        windows = []
        for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
            minute = rng.randrange(0, 14 * 12) * 5
            for _ in range(rng.randrange(0, 3)):
                end = minute + rng.randrange(2, 96) * 5
                if end >= 24 * 60:
                    break
                windows.append(
                    Window(
                        day=d,
                        start=time(minute // 60, minute % 60),
                        end=time(end // 60, end % 60),
                        room=rng.choice("AB"),
                    )
                )
                minute = end + rng.randrange(0, 12) * 5
        exceptions = []
        for _ in range(rng.randrange(0, 4)):
            day = start + timedelta(days=rng.randrange(-2, 40))
            if rng.random() < 0.4:
                exceptions.append(TimeOff(start_date=day, end_date=day + timedelta(days=rng.randrange(0, 3))))
            else:
                a = rng.randrange(0, 20 * 12) * 5
                b = a + rng.randrange(1, 48) * 5
                exceptions.append(
                    TimeOff(
                        start_date=day,
                        start_time=time(a // 60, a % 60),
                        end_time=time(min(b, 23 * 60 + 55) // 60, min(b, 23 * 60 + 55) % 60),
                    )
                )
        spec = TemplateSpec(
            service_type_ids=rng.sample(sorted(services), rng.randrange(1, 4)),
            weekly=windows,
            exceptions=exceptions,
            buffer_before_minutes=rng.choice([0, 0, 5, 10]),
            buffer_after_minutes=rng.choice([0, 5, 15]),
            slot_interval_minutes=rng.choice([None, None, 5, 15, 20]),
            valid_from=rng.choice([None, start + timedelta(days=rng.randrange(0, 10))]),
            valid_until=rng.choice([None, start + timedelta(days=rng.randrange(10, 40))]),
        )
        location = rng.choice(sorted(locations))
        templates.append(
            Template(
                id=f"dr{i}:{location}",
                practitioner_id=f"dr{i}",
                location_id=location,
                spec=spec,
                version=rng.randrange(1, 4),
                updated_at=NOW,
                updated_by="t",
            )
        )
    busy = []
    for _ in range(40):
        t = rng.choice(templates)
        at = datetime.combine(start + timedelta(days=rng.randrange(0, 30)), time(), UTC) + timedelta(
            minutes=5 * rng.randrange(0, 288)
        )
        busy.append(
            held(
                t.practitioner_id,
                t.location_id,
                rng.choice("AB"),
                rng.choice(patients),
                at,
                minutes=rng.choice([15, 30, 60]),
                before=rng.choice([0, 5]),
                after=rng.choice([0, 10]),
            )
        )
    return Calendar(templates=templates, locations=locations, service_types=services, busy=BusyIndex(busy)), patients


# Mondays (and a Sunday) around the DST changes of 2026: New York 8 March, Berlin 29 March, Lord
# Howe 5 April (half an hour) and 4 October.
@pytest.mark.parametrize("seed", range(8))
def test_search_returns_what_every_derived_slot_checked_one_by_one_gives(seed):
    rng = random.Random(seed)
    start = [date(2026, 3, 2), date(2026, 3, 23), date(2026, 3, 30), date(2026, 9, 27)][seed % 4]
    cal, patients = random_calendar(rng, start)
    cache: dict = {}
    for _ in range(12):
        now = datetime.combine(start, time(), UTC) + timedelta(minutes=rng.randrange(-2000, 4000))
        coverage, patient = None, None
        if rng.random() < 0.3:
            patient = rng.choice(patients)
            coverage = PatientCoverage(
                id=patient,
                coverages=[
                    KnownCoverage(
                        coverage_id="c",
                        period_start=start + timedelta(days=rng.randrange(0, 10)),
                        period_end=rng.choice([None, start + timedelta(days=rng.randrange(10, 30))]),
                        service_codes=rng.choice([None, ["99213"], ["99212", "99215"]]),
                    )
                ],
            )
        lo = start + timedelta(days=rng.randrange(-2, 10))
        one = rng.choice(list(cal.templates))
        query = dict(
            from_date=lo,
            to_date=lo + timedelta(days=rng.randrange(0, 14)),
            patient_id=patient,
            service_type_id=rng.choice([None, None, None, *one.spec.service_type_ids]),
            practitioner_id=rng.choice([None, None, one.practitioner_id]),
            location_id=rng.choice([None, None, one.location_id]),
            time_from=rng.choice([None, None, time(8), time(13, 30)]),
            time_to=rng.choice([None, None, time(17)]),
        )
        limit = rng.choice([6, 25, 100])
        expected = reference(cal, Query(**query, limit=10_000), now, coverage)
        pages, after = [], None
        while True:
            page, cursor = search(cal, Query(**query, limit=limit, after=after), now, coverage, cache)
            pages += [f"{s.id}|{s.room}|{s.end:%H%M}" for s in page]
            assert len(page) <= limit and (cursor is None or len(page) == limit)
            if cursor is None:
                break
            after = decode_cursor(cursor)
        assert pages == expected
