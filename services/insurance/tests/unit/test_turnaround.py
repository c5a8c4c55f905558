"""The turnaround report against a seeded set with known answers (pure)."""

from datetime import UTC, date, datetime, timedelta

from caremesh_insurance.domain.authorization import Approval, Denial, PriorAuthorization, Priority
from caremesh_insurance.domain.authorization.report import percentile, turnaround

START = datetime(2026, 3, 1, tzinfo=UTC)
NOW = datetime(2026, 4, 1, tzinfo=UTC)


def decided(
    n: int,
    payer: str,
    code: str,
    hours: float,
    outcome: str,
    priority=Priority.STANDARD,
    received=START + timedelta(days=1),
) -> PriorAuthorization:
    a = PriorAuthorization.require(f"pa-{n}", "p", "c", payer, code, None, "s", received)
    a.draft("c", received)
    a.submit(priority, 4, "c", NOW, received_at=received)
    at = received + timedelta(hours=hours)
    if outcome == "approved":
        a.approve(
            Approval(
                authorization_number="A", approved_units=4, valid_from=date(2026, 3, 1), valid_to=date(2026, 9, 1)
            ),
            "c",
            NOW,
            decided_at=at,
        )
    elif outcome == "partial":
        a.approve(
            Approval(
                authorization_number="A", approved_units=2, valid_from=date(2026, 3, 1), valid_to=date(2026, 9, 1)
            ),
            "c",
            NOW,
            decided_at=at,
        )
    elif outcome == "denied":
        a.deny(Denial(reason_code="N1", reason="No"), "c", NOW, decided_at=at)
    return a


def test_percentiles_interpolate_between_ranks():
    assert percentile([], 50) is None and percentile([5.0], 90) == 5.0
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 90) == 91.0


def test_a_seeded_set_gives_the_known_figures():
    seeded = [
        decided(1, "Acme", "97110", 24, "approved"),
        decided(2, "Acme", "97110", 48, "approved"),
        decided(3, "Acme", "97110", 200, "denied"),  # after the 7-day standard window: late
        decided(4, "Acme", "99214", 10, "partial", Priority.URGENT),
        decided(5, "Beta", "97110", 80, "denied", Priority.URGENT),  # after 72 hours: late
        decided(6, "Beta", "97110", 0, "pending"),  # undecided, 30 days on: late
        decided(7, "Beta", "97110", 0, "pending", received=NOW - timedelta(days=1)),  # undecided, in time
        decided(8, "Acme", "97110", 5, "approved", received=START - timedelta(days=1)),  # before the period
    ]
    report = turnaround(seeded, START, NOW, NOW)
    o = report.overall
    assert (o.requests, o.decided, o.approved, o.partially_approved, o.denied, o.pending, o.overdue) == (
        7,
        5,
        3,
        1,
        2,
        2,
        3,
    )
    # decision hours: 10, 24, 48, 80, 200 -> median 48, p90 = 80 + 0.6 * 120 = 152
    assert (o.median_decision_hours, o.p90_decision_hours) == (48.0, 152.0)
    assert (o.approval_rate, o.denial_rate, o.overdue_rate) == (0.6, 0.4, round(3 / 7, 4))
    by_payer = {g.key: g for g in report.by_payer}
    assert (by_payer["Acme"].requests, by_payer["Acme"].median_decision_hours, by_payer["Acme"].overdue_rate) == (
        4,
        36.0,
        0.25,
    )
    assert (by_payer["Beta"].decided, by_payer["Beta"].denial_rate, by_payer["Beta"].overdue) == (1, 1.0, 2)
    by_service = {g.key: g for g in report.by_service}
    assert (by_service["99214"].requests, by_service["99214"].approval_rate) == (1, 1.0)
    assert (by_service["97110"].median_decision_hours, by_service["97110"].p90_decision_hours) == (64.0, 164.0)


def test_an_appeal_is_a_request_of_its_own():
    a = decided(1, "Acme", "97110", 24, "denied")
    a.appeal("c", NOW - timedelta(days=3), received_at=START + timedelta(days=3))
    a.approve(
        Approval(authorization_number="A", approved_units=4, valid_from=date(2026, 3, 1), valid_to=date(2026, 9, 1)),
        "c",
        NOW,
        decided_at=START + timedelta(days=3, hours=12),
    )
    o = turnaround([a], START, NOW, NOW).overall
    assert (o.requests, o.approved, o.denied, o.median_decision_hours) == (2, 1, 1, 18.0)
