"""RelatedPerson and Consent round-trip through the R4B models."""

from datetime import UTC, datetime, timedelta

from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.relatedperson import RelatedPerson as FhirRelatedPerson

from caremesh_records.domain.family import Category, RelatedPerson, RelatedPersonDetails, Relationship
from caremesh_records.domain.fhir import family

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def person() -> RelatedPerson:
    return RelatedPerson.add(
        "rp-1",
        "pat-1",
        RelatedPersonDetails(
            given_name="Ruth",
            family_name="Smith",
            relationship=Relationship.DAUGHTER,
            email="ruth@example.org",
            phone="+441234567890",
        ),
    )


def test_related_person_round_trips_with_relationship_and_contacts():
    resource = family.related_person(person())
    parsed = FhirRelatedPerson.model_validate_json(resource.model_dump_json())
    assert parsed == resource
    assert parsed.patient.reference == "Patient/pat-1"
    assert parsed.relationship[0].coding[0].code == "DAU"
    assert {(t.system, t.value) for t in parsed.telecom} == {("email", "ruth@example.org"), ("phone", "+441234567890")}


def test_consent_is_the_latest_record_and_a_withdrawal_permits_nothing():
    p = person()
    assert family.consent(p) is None  # never given
    p.set_consent({Category.APPOINTMENTS, Category.INSURANCE}, "pat-user", "patient", NOW)
    given = Consent.model_validate_json(family.consent(p).model_dump_json())
    assert given.status == "active" and given.provision.type == "permit"
    assert sorted(c.coding[0].code for c in given.provision.code) == ["appointments", "insurance"]
    assert given.provision.actor[0].reference.reference == "RelatedPerson/rp-1"
    p.set_consent(set(), "pat-user", "patient", NOW + timedelta(days=1))
    withdrawn = Consent.model_validate_json(family.consent(p).model_dump_json())
    assert withdrawn.status == "inactive" and withdrawn.provision.type == "deny" and withdrawn.provision.code is None
