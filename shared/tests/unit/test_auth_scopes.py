"""SMART on FHIR scopes, and who a token's claims make the caller (principal_of)."""

import jwt
import pytest

from caremesh_kit.auth import Context, Principal, Role, Scope, Scopes
from caremesh_kit.auth.scopes import parse_one
from caremesh_kit.auth.tokens import principal_of


def scope(text: str) -> Scope:
    found = parse_one(text)
    assert found is not None, text
    return found


# -- parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "context", "resource", "interactions"),
    [
        ("patient/Appointment.rs", Context.PATIENT, "Appointment", "rs"),
        ("user/*.cruds", Context.USER, "*", "cruds"),
        ("system/Patient.r", Context.SYSTEM, "Patient", "r"),
        ("user/Coverage.cud", Context.USER, "Coverage", "cud"),
        ("patient/Observation.s", Context.PATIENT, "Observation", "s"),
        # v1: read is read and search, write is create, update and delete, * is everything.
        ("patient/Appointment.read", Context.PATIENT, "Appointment", "rs"),
        ("user/Patient.write", Context.USER, "Patient", "cud"),
        ("system/*.*", Context.SYSTEM, "*", "cruds"),
        ("user/*.read", Context.USER, "*", "rs"),
    ],
)
def test_a_scope_names_its_context_resource_and_interactions(text, context, resource, interactions) -> None:
    assert scope(text) == Scope(context, resource, frozenset(interactions))


@pytest.mark.parametrize(
    "text",
    [
        "openid",
        "fhirUser",
        "launch/patient",
        "offline_access",
        "patient/Appointment.",  # no interaction at all
        "patient/Appointment.rc",  # v2 letters out of order
        "patient/Appointment.rr",
        "patient/Appointment.x",
        "patient/appointment.rs",  # resource types start upper case
        "practitioner/Appointment.rs",  # no such context
        "patient/Observation.rs?category=laboratory",  # granular: narrower than CareMesh models
        "user/Appointment.rs extra",
        "user/*.rs/",
        "",
        " patient/Appointment.rs",
    ],
)
def test_what_grants_no_resource_access_parses_to_nothing(text) -> None:
    assert parse_one(text) is None


def test_a_scope_claim_keeps_only_the_scopes_that_grant_access() -> None:
    parsed = Scopes.parse("openid fhirUser launch/patient patient/Appointment.rs patient/Observation.rs?category=x")
    assert parsed is not None
    assert parsed.granted == {scope("patient/Appointment.rs")}
    assert parsed.contexts == {Context.PATIENT}


def test_a_scope_claim_may_be_a_list() -> None:
    # Entra ID and some gateways send scp/scope as an array.
    assert Scopes.parse(["user/Patient.r", "system/*.s"]) == Scopes(
        frozenset({scope("user/Patient.r"), scope("system/*.s")})
    )


def test_no_scope_claim_is_not_the_same_as_an_empty_one() -> None:
    # None: limited by roles only. Empty: the app was granted nothing.
    assert Scopes.parse(None) is None
    empty = Scopes.parse("openid profile")
    assert empty is not None and not empty.permits("Patient", "r")


@pytest.mark.parametrize("claim", [42, 3.5, True, {"scope": "user/*.*"}])
def test_a_scope_claim_of_another_type_grants_nothing(claim) -> None:
    parsed = Scopes.parse(claim)
    assert parsed is not None and not parsed.granted


def test_permits_checks_resource_and_interaction() -> None:
    parsed = Scopes.parse("patient/Appointment.rs user/*.r")
    assert parsed is not None
    assert parsed.permits("Appointment", "s")
    assert parsed.permits("Coverage", "r")  # the wildcard
    assert not parsed.permits("Coverage", "s")
    assert not parsed.permits("Appointment", "c")


def test_scopes_print_in_a_stable_v2_form() -> None:
    assert str(Scopes.parse("user/Patient.write patient/*.read")) == "patient/*.rs user/Patient.cud"


# -- principal_of -------------------------------------------------------------------------------


def claims(**extra) -> dict:
    return {"sub": "u-1", **extra}


def test_roles_come_from_the_roles_claim() -> None:
    who = principal_of(claims(roles=["coordinator", "clinician"]))
    assert who == Principal("u-1", frozenset({Role.COORDINATOR, Role.CLINICIAN}))


def test_roles_may_be_a_space_separated_string() -> None:
    assert principal_of(claims(roles="admin clinician")).roles == {Role.ADMIN, Role.CLINICIAN}


def test_roles_may_sit_under_a_dotted_path() -> None:
    # Keycloak: realm_access.roles
    keycloak = claims(realm_access={"roles": ["coordinator", "offline_access", "uma_authorization"]})
    assert principal_of(keycloak, "realm_access.roles").roles == {Role.COORDINATOR}
    # Nothing at the path (or a path through a non-object): no roles, not an error.
    assert principal_of(claims(realm_access=["coordinator"]), "realm_access.roles").roles == frozenset()
    assert principal_of(claims(roles=["coordinator"]), "realm_access.roles").roles == frozenset()


def test_unknown_roles_are_ignored() -> None:
    assert principal_of(claims(roles=["superuser", "coordinator", "Admin", ""])).roles == {Role.COORDINATOR}


@pytest.mark.parametrize("raw", [42, {"admin": True}, [["admin"]], [{"role": "admin"}], [None, 7]])
def test_a_roles_claim_of_another_shape_grants_no_role(raw) -> None:
    assert principal_of(claims(roles=raw)).roles == frozenset()


def test_system_scopes_without_roles_act_as_a_service() -> None:
    who = principal_of(claims(scope="system/Patient.r system/Appointment.rs"))
    assert who.roles == {Role.SERVICE}
    assert who.patient_id is None
    assert who.permits("Patient", "r") and not who.permits("Patient", "c")


def test_patient_scopes_with_a_patient_context_act_for_that_patient() -> None:
    who = principal_of(claims(scope="launch/patient patient/Appointment.rs", patient="p-7"))
    assert who.roles == {Role.PATIENT}
    assert who.patient_id == "p-7"
    assert who.may_see_patient("p-7") and not who.may_see_patient("p-8")


def test_patient_scopes_without_a_patient_context_are_refused() -> None:
    with pytest.raises(jwt.InvalidTokenError):
        principal_of(claims(scope="patient/Appointment.rs"))


@pytest.mark.parametrize(
    "fhir_user", ["Patient/p-9", "https://ehr.example/fhir/Patient/p-9", "https://ehr.example/fhir/Patient/p-9/"]
)
def test_a_patient_signed_in_is_bound_to_themself(fhir_user) -> None:
    who = principal_of(claims(scope="patient/*.rs", fhirUser=fhir_user))
    assert who.patient_id == "p-9"
    assert who.roles == {Role.PATIENT}


@pytest.mark.parametrize(
    "fhir_user", ["Practitioner/d-1", "https://ehr.example/fhir/Practitioner/Patient", "Patient/", "Patient"]
)
def test_a_fhir_user_that_is_not_a_patient_binds_no_patient(fhir_user) -> None:
    assert principal_of(claims(roles=["clinician"], fhirUser=fhir_user)).patient_id is None


def test_user_scopes_never_imply_a_staff_role() -> None:
    who = principal_of(claims(scope="user/*.cruds"))
    assert who.roles == frozenset()


def test_roles_stay_when_scopes_are_present_and_scopes_narrow_them() -> None:
    who = principal_of(claims(roles=["coordinator"], scope="user/Appointment.rs"))
    assert who.roles == {Role.COORDINATOR}
    assert who.permits("Appointment", "r") and not who.permits("Patient", "r")


def test_a_role_token_without_scopes_is_limited_by_its_roles_only() -> None:
    who = principal_of(claims(roles=["coordinator"]))
    assert who.scopes is None and who.permits("Anything", "d")


def test_the_development_patient_id_claim_binds_the_patient() -> None:
    who = principal_of(claims(roles=["patient"], patient_id="p-1"))
    assert who.patient_id == "p-1" and who.may_see_patient("p-1") and not who.may_see_patient("p-2")


def test_staff_see_every_patient_a_bare_token_none() -> None:
    assert principal_of(claims(roles=["clinician"])).may_see_patient("p-1")
    assert not principal_of(claims()).may_see_patient("p-1")
