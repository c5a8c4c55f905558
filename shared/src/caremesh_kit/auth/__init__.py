"""Bearer authentication (OIDC/JWKS, or HS256 in development), roles and SMART scopes."""

import argparse
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from caremesh_kit.auth.principal import STAFF, Principal, Role
from caremesh_kit.auth.scopes import Context, Scope, Scopes
from caremesh_kit.auth.tokens import Oidc, ProviderUnavailable, SharedKey, Verifier, mint, verifier_for
from caremesh_kit.settings import DEV_JWT_SECRET

__all__ = [
    "STAFF",
    "AnyUser",
    "Context",
    "Coordinator",
    "Oidc",
    "Principal",
    "ProviderUnavailable",
    "Role",
    "Scope",
    "Scopes",
    "SharedKey",
    "Verifier",
    "authenticate",
    "caller",
    "main",
    "mint",
    "principal",
    "require",
    "verifier_for",
]

log = logging.getLogger("caremesh.auth")
_bearer = HTTPBearer(auto_error=False)
_CACHE = "caremesh.principal"


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


async def authenticate(request: Request, token: str) -> Principal:
    """The caller ``token`` names, checked once per request (kept in the request's scope).
    401 names the kind of failure only: the library's own message stays in our log."""
    cached = request.scope.get(_CACHE)
    if isinstance(cached, tuple) and cached[0] == token:
        return cached[1]  # type: ignore[no-any-return]
    verifier: Verifier = request.app.state.verifier
    try:
        who = await verifier.verify(token)
    except ProviderUnavailable as exc:
        log.warning("identity provider unavailable: %s", exc)
        raise HTTPException(503, "the identity provider cannot be reached", headers={"Retry-After": "5"}) from exc
    except jwt.ExpiredSignatureError as exc:
        raise _unauthorized("the token has expired") from exc
    except jwt.PyJWTError as exc:
        log.info("token refused: %s", type(exc).__name__)
        raise _unauthorized("the token is not valid") from exc
    request.scope[_CACHE] = (token, who)
    return who


async def principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("a bearer token is required")
    return await authenticate(request, credentials.credentials)


async def caller(request: Request) -> Principal:
    """``principal`` outside a route's own dependencies (the policy guard)."""
    return await principal(request, await _bearer(request))


def require(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """Dependency: the caller must hold one of ``roles`` (admin always may)."""
    allowed = frozenset(roles) | {Role.ADMIN}

    async def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if not who.roles & allowed:
            raise HTTPException(status_code=403, detail=f"requires one of the roles: {', '.join(sorted(allowed))}")
        return who

    return check


def main() -> None:
    """caremesh-token: mint a development token (key from CAREMESH_JWT_SECRET, else the dev key)."""
    p = argparse.ArgumentParser(prog="caremesh-token", description=main.__doc__)
    p.add_argument("--sub", default="dev-user", help="subject (user id)")
    p.add_argument("--role", action="append", choices=[r.value for r in Role], help="repeatable; default coordinator")
    p.add_argument("--patient-id", help="for patient tokens: the patient they may see")
    p.add_argument("--scope", help='SMART scopes, e.g. "patient/Appointment.rs"; default: none (roles only)')
    p.add_argument("--hours", type=float, default=12)
    a = p.parse_args()
    secret = os.environ.get("CAREMESH_JWT_SECRET", DEV_JWT_SECRET)
    roles = a.role if a.role is not None else ([] if a.scope else ["coordinator"])
    token = mint(a.sub, roles, secret, patient_id=a.patient_id, scope=a.scope, ttl=timedelta(hours=a.hours))
    sys.stdout.write(token + "\n")


# The callers the services' routes accept, by what they may do.
Coordinator = Annotated[Principal, Depends(require(Role.COORDINATOR))]
AnyUser = Annotated[Principal, Depends(require(Role.COORDINATOR, Role.CLINICIAN, Role.PATIENT))]
