"""Bearer tokens: checked against the identity provider's published keys (OIDC discovery and
JWKS, RS256/ES256), or in development against one shared HS256 key; turned into a Principal.

The key set is cached; a token signed by a key not in it (``kid`` unknown: the provider rotated)
fetches the set again at once, but not more than once per ``REFETCH_SECONDS``, so forged ``kid``s
cannot make every request a call to the provider.
"""

import asyncio
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
    raw = _dig(claims, roles_claim) or []
    if isinstance(raw, str):
        raw = raw.split()
    known = {r.value for r in Role}
    roles = frozenset(Role(r) for r in raw if r in known)
    scopes = Scopes.parse(claims.get("scope", claims.get("scp")))
    patient = _patient_of(claims)
    if scopes is not None and any(s.context == "patient" for s in scopes.granted) and patient is None:
        raise jwt.InvalidTokenError("patient scopes without a patient context")
    return Principal(str(claims["sub"]), roles_for(roles, scopes, patient), patient, scopes)


def check_lifetime(claims: dict[str, Any], max_lifetime: float) -> None:
    if claims["exp"] - claims["iat"] > max_lifetime:
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
    """Tokens of an OpenID Connect provider, checked against its JWKS."""

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
        self.issuer, self.audience, self.jwks_url = issuer.rstrip("/"), audience, jwks_url
        self.algorithms = algorithms or ["RS256", "ES256"]
        self.cache_seconds, self.max_lifetime, self.roles_claim = cache_seconds, max_lifetime, roles_claim
        self.clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched = -float("inf")
        self._lock = asyncio.Lock()

    async def _discover(self, client: httpx.AsyncClient) -> str:
        r = await client.get(f"{self.issuer}/.well-known/openid-configuration")
        r.raise_for_status()
        doc = r.json()
        if str(doc.get("issuer", "")).rstrip("/") != self.issuer:
            raise ProviderUnavailable("the discovery document names another issuer")
        return str(doc["jwks_uri"])

    async def _fetch(self) -> None:
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                if not self.jwks_url:
                    self.jwks_url = await self._discover(client)
                r = await client.get(self.jwks_url)
                r.raise_for_status()
                keyset = jwt.PyJWKSet.from_dict(r.json())
        except (httpx.HTTPError, ValueError, KeyError, jwt.PyJWKSetError) as exc:
            raise ProviderUnavailable(f"cannot fetch the identity provider's keys: {type(exc).__name__}") from exc
        self._keys = {k.key_id or "": k for k in keyset.keys if k.public_key_use in (None, "sig")}
        self._fetched = self.clock()

    async def _key(self, kid: str) -> jwt.PyJWK:
        async with self._lock:
            age = self.clock() - self._fetched
            if age > self.cache_seconds or (kid not in self._keys and age > REFETCH_SECONDS):
                await self._fetch()
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
