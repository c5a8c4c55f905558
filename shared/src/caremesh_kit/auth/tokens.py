"""Bearer tokens: checked against the identity provider's published keys (OIDC discovery and
JWKS, RS256/ES256), or in development against one shared HS256 key; turned into a Principal.

The key set is cached; a token signed by a key not in it (``kid`` unknown: the provider rotated)
fetches the set again at once, but not more than once per ``REFETCH_SECONDS``, so forged ``kid``s
cannot make every request a call to the provider. When the provider cannot be reached as the
cache ages out, the last keys stay in use (tried again every ``REFETCH_SECONDS``).
"""

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx
import jwt

from caremesh_kit.auth.principal import Principal, Role, roles_for
from caremesh_kit.auth.scopes import Scopes

LEEWAY_SECONDS = 30  # clock skew between the provider and us
REFETCH_SECONDS = 10.0
log = logging.getLogger("caremesh.auth")


class ProviderUnavailable(Exception):
    """The identity provider's discovery or key set could not be fetched."""


class Verifier(Protocol):
    async def verify(self, token: str) -> Principal: ...


def _dig(claims: dict[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _patient_of(claims: dict[str, Any]) -> str | None:
    """The SMART ``patient`` launch context, else a ``fhirUser`` that is a Patient (a patient
    signed in), else the development tokens' ``patient_id``."""
    if claims.get("patient"):
        return str(claims["patient"])
    fhir_user = str(claims.get("fhirUser") or "")
    kind, _, ident = fhir_user.rstrip("/").rpartition("/")
    if kind.rpartition("/")[2] == "Patient" and ident:
        return ident
    return str(claims["patient_id"]) if claims.get("patient_id") else None


def principal_of(claims: dict[str, Any], roles_claim: str = "roles") -> Principal:
    """Unknown roles are ignored: identity providers put their own (offline_access...) beside ours."""
    raw = _dig(claims, roles_claim)
    if isinstance(raw, str):
        raw = raw.split()
    # Only a list of names: an object's keys ({"admin": false}) must not become roles.
    names = {r for r in raw if isinstance(r, str)} if isinstance(raw, list | tuple) else set()
    known = {r.value for r in Role}
    roles = frozenset(Role(r) for r in names if r in known)
    scopes = Scopes.parse(claims.get("scope", claims.get("scp")))
    patient = _patient_of(claims)
    if scopes is not None and any(s.context == "patient" for s in scopes.granted) and patient is None:
        raise jwt.InvalidTokenError("patient scopes without a patient context")
    return Principal(str(claims["sub"]), roles_for(roles, scopes, patient), patient, scopes)


def check_lifetime(claims: dict[str, Any], max_lifetime: float) -> None:
    exp, iat = claims["exp"], claims["iat"]
    # NumericDate is a JSON number; PyJWT also lets "1700000000" through.
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (exp, iat)):
        raise jwt.InvalidTokenError("exp and iat must be numbers")
    if exp - iat > max_lifetime:
        raise jwt.InvalidTokenError("token lifetime above the maximum")


_REQUIRED = ["exp", "iat", "sub", "iss", "aud"]


class SharedKey:
    """HS256 with one key: development and tests only (production refuses the dev key)."""

    def __init__(self, secret: str, issuer: str, audience: str, max_lifetime: float, roles_claim: str) -> None:
        self.secret, self.issuer, self.audience = secret, issuer, audience
        self.max_lifetime, self.roles_claim = max_lifetime, roles_claim

    async def verify(self, token: str) -> Principal:
        claims = jwt.decode(
            token,
            self.secret,
            algorithms=["HS256"],
            issuer=self.issuer,
            audience=self.audience,
            leeway=LEEWAY_SECONDS,
            options={"require": _REQUIRED},
        )
        check_lifetime(claims, self.max_lifetime)
        return principal_of(claims, self.roles_claim)


class Oidc:
    """Tokens of an OpenID Connect provider, checked against its JWKS.

    ``issuer`` is matched exactly, trailing slash included (Auth0's ends in one): it is what the
    discovery document and every token's ``iss`` must say."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        *,
        jwks_url: str = "",
        algorithms: list[str] | None = None,
        cache_seconds: float = 300,
        max_lifetime: float = 86400,
        roles_claim: str = "roles",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer, self.audience, self.jwks_url = issuer, audience, jwks_url
        self.algorithms = algorithms or ["RS256", "ES256"]
        # A published key set must never verify a MAC: anyone can read it.
        if symmetric := [a for a in self.algorithms if a.upper().startswith("HS") or a.lower() == "none"]:
            raise ValueError(f"not an algorithm for a provider's published keys: {', '.join(symmetric)}")
        self.cache_seconds, self.max_lifetime, self.roles_claim = cache_seconds, max_lifetime, roles_claim
        self.clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched = -float("inf")  # last fetch that succeeded
        self._attempted = -float("inf")  # last fetch, whatever came of it
        self._looked_for_kid = -float("inf")  # last fetch because of an unknown kid
        self._lock = asyncio.Lock()

    async def _discover(self, client: httpx.AsyncClient) -> str:
        r = await client.get(f"{self.issuer.rstrip('/')}/.well-known/openid-configuration")
        r.raise_for_status()
        doc = r.json()
        if not isinstance(doc, dict) or doc.get("issuer") != self.issuer:
            raise ProviderUnavailable("the discovery document names another issuer")
        return str(doc["jwks_uri"])

    async def _fetch(self) -> None:
        self._attempted = self.clock()
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                if not self.jwks_url:
                    self.jwks_url = await self._discover(client)
                r = await client.get(self.jwks_url)
                r.raise_for_status()
                keyset = jwt.PyJWKSet.from_dict(r.json())
        except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError, jwt.PyJWKSetError) as exc:
            raise ProviderUnavailable(f"cannot fetch the identity provider's keys: {type(exc).__name__}") from exc
        self._keys = {
            k.key_id or "": k
            for k in keyset.keys
            if k.public_key_use in (None, "sig") and k.algorithm_name in self.algorithms
        }
        self._fetched = self.clock()

    async def _key(self, kid: str) -> jwt.PyJWK:
        async with self._lock:
            now = self.clock()
            if self._fetched == -float("inf"):  # never fetched yet
                await self._fetch()
            elif kid not in self._keys and now - self._looked_for_kid > REFETCH_SECONDS:
                # The provider may have rotated: look at once. Its failure is a 503, as the
                # token cannot be checked; forged kids get one look per REFETCH_SECONDS.
                self._looked_for_kid = now
                await self._fetch()
            elif now - self._fetched > self.cache_seconds and now - self._attempted > REFETCH_SECONDS:
                try:
                    await self._fetch()
                except ProviderUnavailable as exc:
                    # An outage of the provider is not one of ours: the keys we had still check.
                    log.warning("keeping the identity provider's last keys: %s", exc)
        if kid in self._keys:
            return self._keys[kid]
        if not kid and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        raise jwt.InvalidTokenError("signed by an unknown key")

    async def verify(self, token: str) -> Principal:
        header = jwt.get_unverified_header(token)
        if header.get("alg") not in self.algorithms:
            raise jwt.InvalidTokenError("algorithm not accepted")
        key = await self._key(str(header.get("kid") or ""))
        claims = jwt.decode(
            token,
            key,
            algorithms=self.algorithms,
            issuer=self.issuer,
            audience=self.audience,
            leeway=LEEWAY_SECONDS,
            options={"require": _REQUIRED},
        )
        check_lifetime(claims, self.max_lifetime)
        return principal_of(claims, self.roles_claim)


def verifier_for(settings: Any) -> Verifier:
    if settings.oidc_issuer:
        return Oidc(
            settings.oidc_issuer,
            settings.jwt_audience,
            jwks_url=settings.oidc_jwks_url,
            algorithms=settings.oidc_algorithms,
            cache_seconds=settings.oidc_jwks_cache_seconds,
            max_lifetime=settings.jwt_max_lifetime_seconds,
            roles_claim=settings.jwt_roles_claim,
        )
    return SharedKey(
        settings.jwt_secret,
        settings.jwt_issuer,
        settings.jwt_audience,
        settings.jwt_max_lifetime_seconds,
        settings.jwt_roles_claim,
    )


def mint(
    subject: str,
    roles: list[str],
    secret: str,
    *,
    patient_id: str | None = None,
    scope: str | None = None,
    ttl: timedelta = timedelta(hours=12),
    issuer: str = "caremesh",
    audience: str = "caremesh",
) -> str:
    """A development HS256 token."""
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": subject,
        "roles": [Role(r).value for r in roles],
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + ttl,
    }
    if patient_id:
        claims["patient_id"] = patient_id
    if scope is not None:
        claims["scope"] = scope
    return jwt.encode(claims, secret, algorithm="HS256")
