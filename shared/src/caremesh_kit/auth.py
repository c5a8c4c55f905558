"""Bearer JWT authentication (HS256 against a configured key) and role checks."""

import argparse
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from caremesh_kit.settings import DEV_JWT_SECRET


class Role(StrEnum):
    COORDINATOR = "coordinator"
    CLINICIAN = "clinician"
    PATIENT = "patient"
    ADMIN = "admin"
    # Other CareMesh components and partner integrations acting as a system.
    SERVICE = "service"


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[Role]
    patient_id: str | None = None

    def may_see_patient(self, patient_id: str) -> bool:
        """Patients see only themselves; staff roles see all."""
        if self.roles - {Role.PATIENT}:
            return True
        return self.patient_id == patient_id


_bearer = HTTPBearer(auto_error=False)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def decode(token: str, secret: str, issuer: str, audience: str) -> Principal:
    claims = jwt.decode(
        token,
        secret,
        algorithms=["HS256"],
        issuer=issuer,
        audience=audience,
        options={"require": ["exp", "sub", "iss", "aud"]},
    )
    roles = claims.get("roles") or []
    try:
        parsed = frozenset(Role(r) for r in roles)
    except ValueError as exc:
        raise jwt.InvalidTokenError("unknown role") from exc
    return Principal(subject=str(claims["sub"]), roles=parsed, patient_id=claims.get("patient_id"))


async def principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("a bearer token is required")
    s = request.app.state.settings
    try:
        return decode(credentials.credentials, s.jwt_secret, s.jwt_issuer, s.jwt_audience)
    except jwt.ExpiredSignatureError as exc:
        raise _unauthorized("the token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise _unauthorized(f"invalid token: {exc}") from exc


def require(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """Dependency: the caller must hold one of ``roles`` (admin always may)."""
    allowed = frozenset(roles) | {Role.ADMIN}

    async def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if not who.roles & allowed:
            raise HTTPException(status_code=403, detail=f"requires one of the roles: {', '.join(sorted(allowed))}")
        return who

    return check


def mint(
    subject: str,
    roles: list[str],
    secret: str,
    *,
    patient_id: str | None = None,
    ttl: timedelta = timedelta(hours=12),
    issuer: str = "caremesh",
    audience: str = "caremesh",
) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": subject,
        "roles": [Role(r).value for r in roles],
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + ttl,
    }
    if patient_id:
        claims["patient_id"] = patient_id
    return jwt.encode(claims, secret, algorithm="HS256")


def main() -> None:
    """caremesh-token: mint a development token (key from CAREMESH_JWT_SECRET, else the dev key)."""
    p = argparse.ArgumentParser(prog="caremesh-token", description=main.__doc__)
    p.add_argument("--sub", default="dev-user", help="subject (user id)")
    p.add_argument("--role", action="append", choices=[r.value for r in Role], help="repeatable; default coordinator")
    p.add_argument("--patient-id", help="for patient tokens: the patient they may see")
    p.add_argument("--hours", type=float, default=12)
    a = p.parse_args()
    secret = os.environ.get("CAREMESH_JWT_SECRET", DEV_JWT_SECRET)
    sys.stdout.write(
        mint(a.sub, a.role or ["coordinator"], secret, patient_id=a.patient_id, ttl=timedelta(hours=a.hours)) + "\n"
    )


# The callers the services' routes accept, by what they may do.
Coordinator = Annotated[Principal, Depends(require(Role.COORDINATOR))]
AnyUser = Annotated[Principal, Depends(require(Role.COORDINATOR, Role.CLINICIAN, Role.PATIENT))]
