"""Production mode (CAREMESH_ENV=production): a service refuses to start on an unsafe setting.

Each refusal starts the real service process with one fault and everything else valid, and expects
it to exit at once with the setting named. Broker and store point at a closed port, so a process
that wrongly passes the checks fails differently (and touches no shared store).
"""

import io
import os
import secrets
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from caremesh_insurance.settings import InsuranceSettings
from caremesh_kit import security
from caremesh_kit.links import DEV_OFFER_LINK_SECRET
from caremesh_kit.settings import DEV_JWT_SECRET, ServiceSettings
from caremesh_notifications.settings import DEV_SURVEY_LINK_SECRET, NotificationsSettings
from caremesh_records.settings import RecordsSettings
from caremesh_scheduling.settings import SchedulingSettings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS: dict[str, type[ServiceSettings]] = {
    "scheduling": SchedulingSettings,
    "records": RecordsSettings,
    "insurance": InsuranceSettings,
    "notifications": NotificationsSettings,
}
KEY = secrets.token_hex(32)
CLOSED = "127.0.0.1:1"  # nothing listens there
QUICK_SECONDS = 30  # the checks run before any connection; the imports take seconds on a busy machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def valid_env(service: str) -> dict[str, str]:
    """A production configuration that passes every check (HS256 with a key of its own)."""
    p = service.upper() + "_"
    env = {
        "CAREMESH_ENV": "production",
        p + "JWT_SECRET": KEY,
        p + "AMQP_URL": f"amqp://{service}:{secrets.token_hex(8)}@{CLOSED}/",
        p + "MONGODB_URL": f"mongodb://{CLOSED}/?serverSelectionTimeoutMS=500&connectTimeoutMS=500",
        p + "FERRETDB_POSTGRES_URL": f"postgresql://u:p@{CLOSED}/db",
        p + "HTTP_PORT": str(free_port()),
    }
    if service in ("scheduling", "notifications"):
        env[p + "OFFER_LINK_SECRET"] = secrets.token_hex(32)
    if service == "notifications":
        env[p + "SURVEY_LINK_SECRET"] = secrets.token_hex(32)
    return env


def clean_environ() -> dict[str, str]:
    """This process's environment without any service setting or mode of the developer's."""
    prefixes = (*[s.upper() + "_" for s in SETTINGS], "CAREMESH_ENV")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def start(service: str, fault: dict[str, str | None]) -> tuple[int, str, str, float]:
    env = clean_environ() | valid_env(service)
    for name, value in fault.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", f"caremesh_{service}"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout, done.stderr, time.monotonic() - began


# (service, fault: variable -> value or None to unset, the variable the refusal must name)
REFUSALS = [
    *[
        (s, {f"{s.upper()}_JWT_SECRET": DEV_JWT_SECRET}, f"{s.upper()}_JWT_SECRET is the public development")
        for s in SETTINGS
    ],
    ("scheduling", {"SCHEDULING_JWT_SECRET": "k" * 31}, "SCHEDULING_JWT_SECRET is 31 bytes"),
    ("records", {"RECORDS_JWT_SECRET": "change-me-" + "x" * 40}, "RECORDS_JWT_SECRET is still its development value"),
    ("scheduling", {"SCHEDULING_OFFER_LINK_SECRET": None}, "SCHEDULING_OFFER_LINK_SECRET is still its development"),
    ("notifications", {"NOTIFICATIONS_OFFER_LINK_SECRET": DEV_OFFER_LINK_SECRET}, "NOTIFICATIONS_OFFER_LINK_SECRET"),
    ("notifications", {"NOTIFICATIONS_SURVEY_LINK_SECRET": DEV_SURVEY_LINK_SECRET}, "NOTIFICATIONS_SURVEY_LINK_SECRET"),
    ("notifications", {"NOTIFICATIONS_WEBHOOK_SECRET": "w" * 20}, "NOTIFICATIONS_WEBHOOK_SECRET is 20 bytes"),
    ("notifications", {"NOTIFICATIONS_SMS_AUTH_TOKEN": "t" * 16}, "NOTIFICATIONS_SMS_AUTH_TOKEN is 16 bytes"),
    ("insurance", {"INSURANCE_API_DOCS": "true"}, "INSURANCE_API_DOCS is on"),
    ("scheduling", {"SCHEDULING_JWT_MAX_LIFETIME_SECONDS": str(100 * 365 * 86400)}, "_JWT_MAX_LIFETIME_SECONDS is"),
    ("records", {"RECORDS_AMQP_URL": f"amqp://guest:guest@{CLOSED}/"}, "RECORDS_AMQP_URL logs in to the broker as"),
    ("insurance", {"INSURANCE_AMQP_URL": f"amqp://{CLOSED}/"}, "INSURANCE_AMQP_URL logs in to the broker as guest"),
    (
        "records",
        {"RECORDS_MONGODB_URL": f"mongodb://records:CHANGE_ME@{CLOSED}/"},
        "RECORDS_MONGODB_URL has a CHANGE_ME",
    ),
]


IDS = [f"{i}-{'+'.join(f)}" for i, (_, f, _) in enumerate(REFUSALS, 1)]


@pytest.fixture(scope="module")
def refused() -> dict[str, tuple[int, str, str, float]]:
    """Every faulty start, four processes at a time (each spends seconds importing)."""
    with ThreadPoolExecutor(4) as pool:
        runs = pool.map(lambda case: start(case[0], case[1]), REFUSALS)
        return dict(zip(IDS, runs, strict=True))


@pytest.mark.parametrize(("service", "fault", "named"), REFUSALS, ids=IDS)
def test_a_service_refuses_to_start_on_an_unsafe_production_setting(
    refused: dict[str, tuple[int, str, str, float]],
    request: pytest.FixtureRequest,
    service: str,
    fault: dict[str, str | None],
    named: str,
) -> None:
    code, stdout, stderr, took = refused[request.node.callspec.id]
    assert code == security.EXIT_REFUSED, (code, stderr[-2000:])
    assert took < QUICK_SECONDS
    assert named in stderr
    assert "refuses to start in production mode" in stderr and "(2)" not in stderr  # only the one fault
    assert len(stderr.strip().splitlines()) == 1  # one paragraph, no traceback
    for name, value in fault.items():
        if value and name.endswith(("SECRET", "TOKEN", "URL")):
            assert value not in stderr + stdout  # names, never values
    assert '"refused to start in production"' in stdout  # the JSON log says so too


def test_a_key_read_from_a_file_is_checked_like_one_from_the_environment(tmp_path: Path) -> None:
    secret_file = tmp_path / "jwt-secret"
    secret_file.write_text(DEV_JWT_SECRET + "\n")  # as `kubectl create secret --from-file` may leave it
    code, _, stderr, _ = start(
        "scheduling", {"SCHEDULING_JWT_SECRET": None, "SCHEDULING_JWT_SECRET_FILE": str(secret_file)}
    )
    assert code == security.EXIT_REFUSED, stderr[-2000:]
    assert "SCHEDULING_JWT_SECRET is the public development key" in stderr


def test_a_short_link_secret_is_refused_in_any_mode() -> None:
    """The link secrets' own validation (min_length) refuses them before the production checks."""
    code, _, stderr, took = start("scheduling", {"SCHEDULING_OFFER_LINK_SECRET": "short"})
    assert code != 0 and took < QUICK_SECONDS
    assert "offer_link_secret" in stderr


def test_a_valid_production_configuration_passes_the_checks_and_goes_on_to_connect() -> None:
    code, stdout, stderr, _ = start("scheduling", {})
    assert code not in (0, security.EXIT_REFUSED), stderr[-2000:]  # the closed store port stops it
    assert "refuses" not in stderr
    assert "shared HS256 key" in stdout  # warned, not refused


@pytest.mark.parametrize("service", SETTINGS)
def test_a_valid_production_configuration_has_no_problems(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in os.environ:
        if name.startswith(service.upper() + "_"):
            monkeypatch.delenv(name)
    for name, value in valid_env(service).items():
        monkeypatch.setenv(name, value)
    settings = SETTINGS[service]()
    assert settings.environment == "production"
    assert security.production_problems(settings) == []
    assert [w for w in security.production_warnings(settings) if "HS256" in w]


def test_a_key_is_read_from_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "jwt").write_text(KEY + "\n")
    for name, value in valid_env("records").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("RECORDS_JWT_SECRET")
    monkeypatch.setenv("RECORDS_JWT_SECRET_FILE", str(tmp_path / "jwt"))
    settings = RecordsSettings()
    assert settings.jwt_secret == KEY
    assert security.production_problems(settings) == []


def test_with_an_identity_provider_the_development_key_is_not_used_and_nothing_is_refused() -> None:
    settings = RecordsSettings(
        environment="production",
        oidc_issuer="https://login.hospital.example/realms/care",
        amqp_url="amqp://records:pw@broker/",
    )
    assert settings.jwt_secret == DEV_JWT_SECRET
    assert security.production_problems(settings) == []
    assert security.production_warnings(settings) == []
    hs = RecordsSettings(environment="production", oidc_issuer="https://idp", oidc_algorithms=["RS256", "HS256"])
    assert [w for w in security.production_warnings(hs) if "HS256" in w]


def test_development_checks_nothing() -> None:
    settings = SchedulingSettings(jwt_secret="x", api_docs=True, jwt_max_lifetime_seconds=10**9)
    assert settings.environment == "development"
    assert security.production_problems(settings) == [] and security.production_warnings(settings) == []


def test_every_problem_is_listed_at_once_and_the_ceiling_is_24_hours() -> None:
    ceiling = security.PRODUCTION_MAX_TOKEN_LIFETIME_SECONDS
    settings = NotificationsSettings(environment="production", api_docs=True, jwt_max_lifetime_seconds=ceiling + 1)
    problems = security.production_problems(settings)
    named = ["JWT_SECRET", "OFFER_LINK_SECRET", "SURVEY_LINK_SECRET", "API_DOCS", "JWT_MAX_LIFETIME_SECONDS"]
    named.append("AMQP_URL")
    assert [n for n in named if not any(f"NOTIFICATIONS_{n} " in p for p in problems)] == []
    assert len(problems) == len(named)
    assert security.PRODUCTION_MAX_TOKEN_LIFETIME_SECONDS == 24 * 3600
    ok = NotificationsSettings(environment="production", jwt_max_lifetime_seconds=24 * 3600)
    assert not [p for p in security.production_problems(ok) if "LIFETIME" in p]
    paragraph = security.refusal("notifications", problems)
    assert "\n" not in paragraph and paragraph.count("; (") == len(problems) - 1


def test_a_key_is_measured_in_bytes() -> None:
    short = SchedulingSettings(environment="production", jwt_secret="é" * 15)  # 15 characters, 30 bytes
    assert any("SCHEDULING_JWT_SECRET is 30 bytes" in p for p in security.production_problems(short))
    enough = SchedulingSettings(environment="production", jwt_secret="é" * 16)
    assert not [p for p in security.production_problems(enough) if "JWT_SECRET" in p]


def test_invalid_settings_are_named_without_their_values() -> None:
    """pydantic's own message echoes the rejected value, here a secret; ``load_or_exit`` does not."""
    err = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        security.load_or_exit("scheduling", lambda: SchedulingSettings(offer_link_secret="my-short-secret"), stderr=err)
    assert exited.value.code == security.EXIT_REFUSED
    assert "offer_link_secret" in err.getvalue() and "my-short-secret" not in err.getvalue()
