"""Production mode: the settings a deployment must not run with, checked before a service serves.

With ``CAREMESH_ENV=production`` a service refuses to start (``runtime.main``) when:

- it checks tokens with HS256 and ``jwt_secret`` is the public development key;
- a symmetric key is under ``MIN_KEY_BYTES`` or still a development value (``jwt_secret`` when no
  ``oidc_issuer`` is set, and every ``*_secret`` / ``*_auth_token`` field that is set: the offer and
  survey link keys, the webhook and SMS signing keys);
- ``api_docs`` is on;
- ``jwt_max_lifetime_seconds`` is above ``PRODUCTION_MAX_TOKEN_LIFETIME_SECONDS``;
- the broker URL logs in as ``guest:guest`` (or names no user, which AMQP clients turn into guest),
  or the broker or database URL still has a ``CHANGE_ME`` password.

HS256 itself is allowed, with a warning: a shared key can mint tokens, a hospital's identity provider
signs with keys only it holds. Development (the default) checks nothing.
"""

import sys
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from pydantic import ValidationError

from caremesh_kit import logs
from caremesh_kit.links import DEV_OFFER_LINK_SECRET
from caremesh_kit.settings import DEV_JWT_SECRET, ServiceSettings

# Longest token lifetime production accepts (24 h): a stolen token is good for at most a day, and
# staff sign in once a shift. Identity providers issue access tokens of minutes to hours.
PRODUCTION_MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600
# HMAC-SHA256 keys: at least the hash's output size (RFC 7518 section 3.2 requires it for HS256).
MIN_KEY_BYTES = 32
# Exit status of a refused start (sysexits' EX_CONFIG), so supervisors can tell it from a crash.
EXIT_REFUSED = 78

# The development keys in the source; the service-specific ones are their fields' defaults.
_DEV_KEYS = frozenset({DEV_JWT_SECRET, DEV_OFFER_LINK_SECRET})
_KEY_SUFFIXES = ("_secret", "_auth_token")

log = logs.get("caremesh.security")


def _env(settings: ServiceSettings, field: str) -> str:
    prefix = str(type(settings).model_config.get("env_prefix", "")).upper()
    return f"{prefix}{field.upper()}"


def _is_placeholder(value: str) -> bool:
    """The development keys say "change-me"; the deployment files' placeholders are CHANGE_ME."""
    return "change-me" in value.lower() or "change_me" in value.lower()


def _is_dev_key(settings: ServiceSettings, field: str, value: str) -> bool:
    default = type(settings).model_fields[field].default
    return value in _DEV_KEYS or (bool(default) and value == default) or _is_placeholder(value)


def _keys(settings: ServiceSettings) -> list[str]:
    """The symmetric keys the service uses: set ``*_secret``/``*_auth_token`` fields, and
    ``jwt_secret`` only while tokens are checked with it."""
    names = [n for n in type(settings).model_fields if n.endswith(_KEY_SUFFIXES)]
    return [n for n in names if getattr(settings, n) and not (n == "jwt_secret" and settings.oidc_issuer)]


def _broker_user(amqp_url: str) -> tuple[str, str]:
    parts = urlsplit(amqp_url)
    # aio-pika logs in as guest:guest when the URL names no user.
    return unquote(parts.username or "guest"), unquote(parts.password or "guest")


def production_problems(settings: ServiceSettings) -> list[str]:
    """Why ``settings`` must not serve in production, one sentence each naming the variable and
    the fix; empty when they may (or outside production)."""
    if settings.environment != "production":
        return []
    problems: list[str] = []
    for field in _keys(settings):
        value: str = getattr(settings, field)
        env = _env(settings, field)
        if field == "jwt_secret" and value == DEV_JWT_SECRET:
            problems.append(
                f"{env} is the public development key and no {_env(settings, 'oidc_issuer')} is set: set "
                f"{_env(settings, 'oidc_issuer')} to your identity provider, or {env} (or {env}_FILE) to "
                f"{MIN_KEY_BYTES}+ random bytes, e.g. `openssl rand -hex 32`"
            )
        elif _is_dev_key(settings, field, value):
            problems.append(
                f"{env} is still its development value: set it (or {env}_FILE) to {MIN_KEY_BYTES}+ random bytes"
            )
        elif len(value.encode()) < MIN_KEY_BYTES:
            problems.append(
                f"{env} is {len(value.encode())} bytes, under the {MIN_KEY_BYTES} an HMAC-SHA256 key needs: "
                "use e.g. `openssl rand -hex 32`"
            )
    if settings.api_docs:
        problems.append(f"{_env(settings, 'api_docs')} is on, serving the API description without a token: unset it")
    lifetime = settings.jwt_max_lifetime_seconds
    if lifetime > PRODUCTION_MAX_TOKEN_LIFETIME_SECONDS:
        problems.append(
            f"{_env(settings, 'jwt_max_lifetime_seconds')} is {lifetime} s, above production's ceiling of "
            f"{PRODUCTION_MAX_TOKEN_LIFETIME_SECONDS} s (24 h): lower it"
        )
    if _broker_user(settings.amqp_url) == ("guest", "guest"):
        problems.append(
            f"{_env(settings, 'amqp_url')} logs in to the broker as guest:guest: give the service its own "
            "broker user and password in the URL"
        )
    user, password = _broker_user(settings.amqp_url)
    if password == f"{user}-dev":  # the development users scripts/infra provisions
        problems.append(
            f"{_env(settings, 'amqp_url')} uses the development broker password: set the real one in the URL"
        )
    for field in ("amqp_url", "mongodb_url"):
        if _is_placeholder(unquote(urlsplit(getattr(settings, field)).password or "")):
            problems.append(f"{_env(settings, field)} has a CHANGE_ME password: put the real one in the URL")
    # The partner gateway provisions broker users through the management API.
    admin = getattr(settings, "broker_management_password", None)
    if admin is not None and (admin == "guest" or _is_placeholder(admin)):
        problems.append(
            f"{_env(settings, 'broker_management_password')} is the development one: set the password of the "
            "gateway's own management user"
        )
    return problems


def production_warnings(settings: ServiceSettings) -> list[str]:
    """What production allows but should not keep."""
    if settings.environment != "production":
        return []
    if not settings.oidc_issuer:
        return [
            "tokens are checked with a shared HS256 key, which can also mint them: set "
            f"{_env(settings, 'oidc_issuer')} to the identity provider (RS256/ES256)"
        ]
    if any(a.upper().startswith("HS") for a in settings.oidc_algorithms):
        return [f"{_env(settings, 'oidc_algorithms')} accepts HS256 from the identity provider: keep RS256/ES256"]
    return []


def refusal(service: str, problems: list[str]) -> str:
    """The one paragraph a refused start prints."""
    numbered = "; ".join(f"({i}) {p}" for i, p in enumerate(problems, 1))
    return (
        f"caremesh {service} refuses to start in production mode (CAREMESH_ENV=production): {numbered}. "
        "Fix each and start again; CAREMESH_ENV=development skips these checks (never in a deployment)."
    )


def check_or_exit(service: str, settings: ServiceSettings, stderr: Any = None) -> None:
    """Exit with ``EXIT_REFUSED`` and the refusal on stderr when production must not start; log
    the warnings otherwise. The messages name settings, never their values."""
    for warning in production_warnings(settings):
        log.warning(warning)
    problems = production_problems(settings)
    if problems:
        log.error("refused to start in production", extra={"fields": {"problems": len(problems)}})
        print(refusal(service, problems), file=stderr or sys.stderr, flush=True)
        raise SystemExit(EXIT_REFUSED)


T = TypeVar("T", bound=ServiceSettings)


def load_or_exit(service: str, load: Callable[[], T], stderr: Any = None) -> T:
    """The settings, or exit with the invalid ones named (their values left out: a rejected
    value may be a secret)."""
    try:
        return load()
    except ValidationError as exc:
        named = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        )
        print(f"caremesh {service} cannot start, invalid settings: {named}.", file=stderr or sys.stderr, flush=True)
        raise SystemExit(EXIT_REFUSED) from None
