"""Token verification: the development HS256 key, and an OpenID Connect provider's JWKS served by a
real local issuer (caremesh_testing.oidc) over HTTP."""

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from caremesh_kit.auth import Oidc, ProviderUnavailable, Role, SharedKey, mint
from caremesh_kit.auth.tokens import LEEWAY_SECONDS, REFETCH_SECONDS
from caremesh_kit.settings import DEV_JWT_SECRET
from caremesh_testing.oidc import LocalIssuer, SigningKey

DAY = 86400.0


# -- SharedKey (development HS256) --------------------------------------------------------------


def shared(max_lifetime: float = DAY) -> SharedKey:
    return SharedKey(DEV_JWT_SECRET, "caremesh", "caremesh", max_lifetime, "roles")


def hs256(**claims) -> str:
    now = int(time.time())
    body = {"sub": "u-1", "roles": ["coordinator"], "iss": "caremesh", "aud": "caremesh", "iat": now}
    body |= {"exp": now + 600} | claims
    return jwt.encode({k: v for k, v in body.items() if v is not None}, DEV_JWT_SECRET, algorithm="HS256")


async def test_shared_key_accepts_a_minted_token() -> None:
    who = await shared().verify(mint("dr-ada", ["clinician"], DEV_JWT_SECRET))
    assert who.subject == "dr-ada" and who.roles == {Role.CLINICIAN}


@pytest.mark.parametrize("missing", ["exp", "iat", "sub", "iss", "aud"])
async def test_shared_key_requires_each_claim(missing) -> None:
    with pytest.raises(jwt.MissingRequiredClaimError):
        await shared().verify(hs256(**{missing: None}))


async def test_shared_key_refuses_an_expired_token() -> None:
    now = int(time.time())
    with pytest.raises(jwt.ExpiredSignatureError):
        await shared().verify(hs256(iat=now - 3600, exp=now - LEEWAY_SECONDS - 5))


async def test_shared_key_refuses_a_lifetime_above_the_maximum() -> None:
    century = mint("admin", ["admin"], DEV_JWT_SECRET, ttl=timedelta(days=36500))
    with pytest.raises(jwt.InvalidTokenError):
        await shared().verify(century)
    await shared(max_lifetime=3600).verify(mint("u", ["coordinator"], DEV_JWT_SECRET, ttl=timedelta(hours=1)))
    with pytest.raises(jwt.InvalidTokenError):
        await shared(max_lifetime=3600).verify(mint("u", ["coordinator"], DEV_JWT_SECRET, ttl=timedelta(hours=2)))


async def test_shared_key_lifetime_claims_given_as_text_are_refused_cleanly() -> None:
    now = int(time.time())
    with pytest.raises(jwt.InvalidTokenError):
        await shared().verify(hs256(iat=str(now), exp=str(now + 600)))


@pytest.mark.parametrize(("claim", "value"), [("aud", "billing"), ("iss", "someone-else")])
async def test_shared_key_refuses_another_audience_or_issuer(claim, value) -> None:
    with pytest.raises(jwt.InvalidTokenError):
        await shared().verify(hs256(**{claim: value}))


async def test_shared_key_refuses_another_key_and_other_algorithms() -> None:
    with pytest.raises(jwt.InvalidSignatureError):
        await shared().verify(mint("u", ["admin"], "another-secret-of-enough-length-0123456789"))
    rs256 = jwt.encode(
        {"sub": "u", "iss": "caremesh", "aud": "caremesh"}, SigningKey.generate().private, algorithm="RS256"
    )
    with pytest.raises(jwt.InvalidAlgorithmError):
        await shared().verify(rs256)


# -- Oidc against a real local issuer -----------------------------------------------------------


class Clock:
    """The verifier's monotonic clock, moved by the test (REFETCH_SECONDS and the cache age)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def issuer():
    """A fresh issuer: fetch counts start at 0 and rotating it touches no other test."""
    with LocalIssuer() as running:
        yield running


@pytest.fixture(scope="module")
def steady():
    """One issuer for the tests that neither rotate it nor count its fetches."""
    with LocalIssuer() as running:
        yield running


def oidc(issuer: LocalIssuer, clock: Clock | None = None, **options) -> Oidc:
    return Oidc(issuer.issuer, "caremesh", clock=clock or Clock(), **options)


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
async def test_a_provider_token_is_accepted(issuer, alg) -> None:
    token = issuer.token("dr-ada", roles=["coordinator"], alg=alg)
    assert jwt.get_unverified_header(token)["kid"] == issuer.key(alg).kid
    who = await oidc(issuer).verify(token)
    assert who.subject == "dr-ada" and who.roles == {Role.COORDINATOR}
    assert issuer.discovery_fetches == 1 and issuer.jwks_fetches == 1


async def test_smart_claims_reach_the_principal(steady) -> None:
    token = steady.token("app-1", scope="openid launch/patient patient/Appointment.rs", patient="p-1")
    who = await oidc(steady).verify(token)
    assert who.roles == {Role.PATIENT} and who.patient_id == "p-1" and who.permits("Appointment", "s")


async def test_roles_under_a_configured_claim_path(steady) -> None:
    token = steady.token("dr-ada", realm_access={"roles": ["clinician", "offline_access"]})
    who = await oidc(steady, roles_claim="realm_access.roles").verify(token)
    assert who.roles == {Role.CLINICIAN}


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        ({"aud": "billing"}, jwt.InvalidAudienceError),
        ({"aud": ["billing", "reporting"]}, jwt.InvalidAudienceError),
        ({"iss": "https://idp.example"}, jwt.InvalidIssuerError),
        ({"exp": int(time.time()) - LEEWAY_SECONDS - 60}, jwt.ExpiredSignatureError),
        ({"nbf": int(time.time()) + LEEWAY_SECONDS + 300}, jwt.ImmatureSignatureError),
        ({"iat": int(time.time()) + LEEWAY_SECONDS + 300}, jwt.ImmatureSignatureError),
        ({"exp": None}, jwt.MissingRequiredClaimError),
        ({"iat": None}, jwt.MissingRequiredClaimError),
        ({"aud": None}, jwt.MissingRequiredClaimError),
        ({"iss": None}, jwt.MissingRequiredClaimError),
        ({"sub": None}, jwt.MissingRequiredClaimError),
    ],
)
async def test_claims_are_checked(steady, claims, error) -> None:
    verifier = oidc(steady)
    await verifier.verify(steady.token("u-1", roles=["coordinator"]))  # the same verifier accepts a good one
    with pytest.raises(error):
        await verifier.verify(steady.token("u-1", roles=["coordinator"], **claims))


async def test_an_audience_list_naming_us_is_accepted(steady) -> None:
    await oidc(steady).verify(steady.token("u-1", roles=["coordinator"], aud=["account", "caremesh"]))


async def test_a_lifetime_above_the_maximum_is_refused(steady) -> None:
    verifier = oidc(steady, max_lifetime=3600)
    await verifier.verify(steady.token("u-1", roles=["admin"], ttl=3600))
    with pytest.raises(jwt.InvalidTokenError):
        await verifier.verify(steady.token("u-1", roles=["admin"], ttl=3601))
    with pytest.raises(jwt.InvalidTokenError):
        await verifier.verify(steady.token("u-1", roles=["admin"], ttl=timedelta(days=36500)))


def _segment(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(issuer: LocalIssuer) -> dict:
    now = int(time.time())
    return {"sub": "mallory", "roles": ["admin"], "iss": issuer.issuer, "aud": "caremesh", "iat": now, "exp": now + 60}


async def test_hs256_and_none_are_refused(issuer) -> None:
    verifier = oidc(issuer)
    kid = issuer.key("RS256").kid
    hs = jwt.encode(_claims(issuer), "a-guessed-secret-of-enough-length-0123", algorithm="HS256", headers={"kid": kid})
    none = f"{_segment({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{_segment(_claims(issuer))}."
    for token in (hs, none):
        with pytest.raises(jwt.InvalidTokenError):
            await verifier.verify(token)
    assert issuer.jwks_fetches == 0  # refused on the header alone


async def test_hs256_keyed_with_the_published_public_key_is_refused(steady) -> None:
    # The classic algorithm confusion: HMAC with the provider's public key as the secret.
    key = steady.key("RS256")
    pem = key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for alg, digest in (("HS256", hashlib.sha256), ("RS256", hashlib.sha256)):
        head = f"{_segment({'alg': alg, 'typ': 'JWT', 'kid': key.kid})}.{_segment(_claims(steady))}"
        mac = base64.urlsafe_b64encode(hmac.new(pem, head.encode(), digest).digest()).rstrip(b"=").decode()
        with pytest.raises(jwt.InvalidTokenError):
            await oidc(steady).verify(f"{head}.{mac}")


async def test_an_algorithm_that_does_not_match_the_key_is_refused(steady) -> None:
    # ES256 in the header, the RSA key's kid: the key decides the algorithm, not the header.
    stranger = SigningKey.generate("ES256", kid=steady.key("RS256").kid)
    with pytest.raises(jwt.InvalidTokenError):
        await oidc(steady).verify(steady.token("mallory", roles=["admin"], key=stranger))


async def test_a_key_never_published_is_refused(steady) -> None:
    verifier = oidc(steady)
    for alg in ("RS256", "ES256"):
        with pytest.raises(jwt.InvalidTokenError):
            await verifier.verify(steady.token("mallory", roles=["admin"], key=SigningKey.generate(alg)))


async def test_a_forged_signature_under_a_published_kid_is_refused(steady) -> None:
    for alg in ("RS256", "ES256"):
        forger = SigningKey.generate(alg, kid=steady.key(alg).kid)
        with pytest.raises(jwt.InvalidSignatureError):
            await oidc(steady).verify(steady.token("mallory", roles=["admin"], key=forger))


async def test_the_key_set_is_cached(issuer) -> None:
    clock = Clock()
    verifier = oidc(issuer, clock, cache_seconds=300)
    for alg in ("RS256", "ES256") * 5:
        await verifier.verify(issuer.token("u-1", roles=["coordinator"], alg=alg))
    assert issuer.jwks_fetches == 1
    clock.now += 301  # the cache has aged out
    await verifier.verify(issuer.token("u-1", roles=["coordinator"]))
    assert issuer.jwks_fetches == 2 and issuer.discovery_fetches == 1


async def test_after_a_rotation_the_new_key_is_fetched_at_once(issuer) -> None:
    clock = Clock()
    verifier = oidc(issuer, clock)
    old = issuer.token("u-1", roles=["coordinator"])
    await verifier.verify(old)
    issuer.rotate()  # no grace: the old key leaves the JWKS
    clock.now += 1  # well inside REFETCH_SECONDS of the first fetch
    for alg in ("RS256", "ES256"):
        who = await verifier.verify(issuer.token("u-2", roles=["coordinator"], alg=alg))
        assert who.subject == "u-2"
    assert issuer.jwks_fetches == 2
    with pytest.raises(jwt.InvalidTokenError):
        await verifier.verify(old)  # its key is gone
    assert issuer.jwks_fetches == 2


async def test_a_rotation_with_grace_keeps_the_old_tokens_valid(issuer) -> None:
    verifier = oidc(issuer)
    old = issuer.token("u-1", roles=["coordinator"])
    await verifier.verify(old)
    new = issuer.rotate(grace=60)
    assert {issuer.key("RS256").kid, jwt.get_unverified_header(old)["kid"]} <= issuer.published_kids
    await verifier.verify(issuer.token("u-2", roles=["coordinator"]))
    await verifier.verify(old)
    assert issuer.key("RS256") == new["RS256"] and issuer.jwks_fetches == 2


async def test_forged_kids_refetch_at_most_once_per_interval(issuer) -> None:
    clock = Clock()
    verifier = oidc(issuer, clock)
    await verifier.verify(issuer.token("u-1", roles=["coordinator"]))
    for _ in range(20):
        forged = issuer.token("mallory", roles=["admin"], key=SigningKey.generate("ES256", kid=uuid.uuid4().hex))
        with pytest.raises(jwt.InvalidTokenError):
            await verifier.verify(forged)
        clock.now += 0.1
    assert issuer.jwks_fetches == 2  # the first one looked; the other 19 did not
    clock.now += REFETCH_SECONDS
    with pytest.raises(jwt.InvalidTokenError):
        await verifier.verify(forged)
    assert issuer.jwks_fetches == 3


async def test_a_discovery_naming_another_issuer_is_refused() -> None:
    with LocalIssuer() as issuer:
        configured = issuer.url
        issuer.announced_issuer = "https://idp.example"
        token = issuer.token("mallory", roles=["admin"], iss=configured)
        with pytest.raises(ProviderUnavailable):
            await Oidc(configured, "caremesh").verify(token)
        assert issuer.jwks_fetches == 0


async def test_an_issuer_ending_in_a_slash_is_matched_exactly() -> None:
    # Auth0 names its issuer "https://tenant.auth0.com/": tokens carry the slash too.
    with LocalIssuer() as issuer:
        issuer.announced_issuer = issuer.url + "/"
        await Oidc(issuer.issuer, "caremesh").verify(issuer.token("u-1", roles=["coordinator"]))
        with pytest.raises(jwt.InvalidIssuerError):
            await Oidc(issuer.issuer, "caremesh").verify(issuer.token("u-1", roles=["coordinator"], iss=issuer.url))


async def test_a_configured_jwks_url_skips_discovery(issuer) -> None:
    verifier = Oidc(issuer.issuer, "caremesh", jwks_url=issuer.jwks_uri)
    await verifier.verify(issuer.token("u-1", roles=["coordinator"]))
    assert issuer.discovery_fetches == 0 and issuer.jwks_fetches == 1


async def test_an_unreachable_provider_is_unavailable_not_unauthorized() -> None:
    with LocalIssuer() as issuer:
        token = issuer.token("u-1", roles=["coordinator"])
        url = issuer.url
    with pytest.raises(ProviderUnavailable):
        await Oidc(url, "caremesh").verify(token)


async def test_a_provider_outage_keeps_the_last_keys(issuer) -> None:
    clock = Clock()
    verifier = oidc(issuer, clock, cache_seconds=300)
    await verifier.verify(issuer.token("u-1", roles=["coordinator"]))
    issuer.jwks_failing = True
    clock.now += 301
    for _ in range(5):  # the cache aged out, the provider fails: the keys it had still check
        await verifier.verify(issuer.token("u-1", roles=["coordinator"]))
        clock.now += 1
    assert issuer.jwks_fetches == 2  # one attempt, not one per request
    clock.now += REFETCH_SECONDS
    issuer.jwks_failing = False
    issuer.rotate()
    await verifier.verify(issuer.token("u-2", roles=["coordinator"]))
    assert issuer.jwks_fetches == 3


def test_symmetric_algorithms_are_not_accepted_from_a_provider() -> None:
    with pytest.raises(ValueError, match="HS256"):
        Oidc("https://idp.example", "caremesh", algorithms=["RS256", "HS256"])
    with pytest.raises(ValueError, match="none"):
        Oidc("https://idp.example", "caremesh", algorithms=["none"])
