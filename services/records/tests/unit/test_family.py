"""Consent evaluation for family members and caregivers."""

from datetime import UTC, datetime, timedelta

from caremesh_contracts import ConsentChanged, RelatedPersonAdded
from caremesh_records.domain.family import Category, RelatedPerson, RelatedPersonDetails, Relationship

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def daughter() -> RelatedPerson:
    return RelatedPerson.add(
        "rp-1",
        "pat-1",
        RelatedPersonDetails(
            given_name="Ruth", relationship=Relationship.DAUGHTER, email="ruth@example.org", time_zone="Europe/Paris"
        ),
    )


def test_a_new_related_person_has_no_consent_and_an_event_with_contact_details_only():
    person = daughter()
    assert person.consented == frozenset() and not person.may_receive(Category.APPOINTMENTS)
    [event] = person.take_events()
    assert event == RelatedPersonAdded(
        related_person_id="rp-1",
        patient_id="pat-1",
        given_name="Ruth",
        relationship="DAU",
        email="ruth@example.org",
        phone=None,
        time_zone="Europe/Paris",
    )


def test_consent_is_granted_per_category_and_withdrawn_at_once_with_its_history_kept():
    person = daughter()
    person.take_events()
    assert person.set_consent({Category.APPOINTMENTS, Category.CARE_PLAN}, "pat-user", "patient", NOW)
    assert person.may_receive(Category.APPOINTMENTS) and not person.may_receive(Category.INSURANCE)
    assert person.set_consent(set(), "coord-1", "staff", NOW + timedelta(days=1)) is True
    assert not person.may_receive(Category.APPOINTMENTS)
    events = person.take_events()
    assert [e.categories for e in events] == [["appointments", "care_plan"], []]
    assert all(isinstance(e, ConsentChanged) for e in events)
    assert [(c.given_by, c.given_by_role) for c in person.consents] == [("pat-user", "patient"), ("coord-1", "staff")]


def test_setting_the_same_consent_again_records_nothing():
    person = daughter()
    person.set_consent({Category.APPOINTMENTS}, "u", "patient", NOW)
    person.take_events()
    assert person.set_consent({Category.APPOINTMENTS}, "u", "patient", NOW + timedelta(hours=1)) is False
    assert person.take_events() == [] and len(person.consents) == 1
