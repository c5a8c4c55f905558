"""Sign-in through an identity provider, on the four services running as processes: each checks
tokens of the local OpenID Connect issuer (discovery and JWKS over HTTP), keeps accepting them
after the issuer rotates its keys, and refuses a token signed by a key it never published with a
401 that says nothing of why beyond "not valid"."""

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from pymongo import AsyncMongoClient

from caremesh_kit.auth.tokens import REFETCH_SECONDS
from caremesh_kit.devcluster import SERVICES, Cluster
from caremesh_testing import delete_namespace
from caremesh_testing.oidc import LocalIssuer, SigningKey

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
STORES = {"scheduling": 27101, "records": 27102, "insurance": 27103, "notifications": 27104}
PORT_OFFSET = 700  # e2e 300, API conformance 400, chaos 500, authorization matrix 600
# A list route a coordinator may read on each service: a real read of its store.
READS = {
    "scheduling": "/practitioners",
    "records": "/worklists/care-plans",
    "insurance": "/payers",
    "notifications": "/templates",
}
# What a 401 must not say: the library's messages, our own reasons, the token's parts.
LEAKS = ("signature", "signed by", "kid", "algorithm", "jwt", "jwk", "error", "decode", "verification", "key")


@pytest.fixture(scope="module")
async def cluster(issuer: LocalIssuer) -> AsyncIterator[Cluster]:
    key = uuid.uuid4().hex[:8]
    cluster = Cluster(
        namespace=f"oidc-{key}",
        db_suffix=f"_oidc_{key}",
        port_offset=PORT_OFFSET,
        extra_env=issuer.service_env(),
    )
    try:
        cluster.up()
        yield cluster
    finally:
        cluster.down()
        await delete_namespace(cluster.namespace)
        for s, port in STORES.items():
            client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(f"mongodb://127.0.0.1:{port}/")
            await client.drop_database(f"caremesh_{s}{cluster.db_suffix}")
            await client.close()


async def read_all(cluster: Cluster, token: str) -> dict[str, httpx.Response]:
    """The list read of every service with ``token``."""
    answers = {}
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        for service, path in READS.items():
            answers[service] = await client.get(cluster.url(service) + path)
    return answers


def statuses(answers: dict[str, httpx.Response]) -> dict[str, int]:
    return {s: r.status_code for s, r in answers.items()}


def assert_refused_quietly(answers: dict[str, httpx.Response]) -> None:
    """401, problem+json, a Bearer challenge, and a detail that names no reason."""
    assert statuses(answers) == dict.fromkeys(SERVICES, 401)
    for service, r in answers.items():
        assert r.headers["content-type"].startswith("application/problem+json"), (service, r.headers)
        assert r.headers.get("www-authenticate", "").lower().startswith("bearer"), (service, r.headers)
        body = r.json()
        assert body["status"] == 401 and body["title"], (service, body)
        assert body["detail"] == "the token is not valid", (service, body)
        text = json.dumps(body).lower()
        assert not [w for w in LEAKS if w in text], (service, body)


async def test_a_provider_token_is_accepted_by_every_service_and_survives_a_key_rotation(
    issuer: LocalIssuer, cluster: Cluster
) -> None:
    fetched = issuer.jwks_fetches
    coordinator = issuer.token("oidc-coordinator", roles=["coordinator"], ttl=600)
    assert jwt.get_unverified_header(coordinator)["alg"] == "RS256"
    answers = await read_all(cluster, coordinator)
    assert statuses(answers) == dict.fromkeys(SERVICES, 200), {s: r.text for s, r in answers.items()}
    assert all(isinstance(r.json(), list | dict) for r in answers.values())
    assert issuer.jwks_fetches - fetched == len(SERVICES)  # each service fetched the key set once

    # ES256 too, and the cached key set answers: no service asks the issuer again.
    assert statuses(await read_all(cluster, issuer.token("oidc-coordinator", roles=["coordinator"], alg="ES256"))) == (
        dict.fromkeys(SERVICES, 200)
    )
    assert statuses(await read_all(cluster, coordinator)) == dict.fromkeys(SERVICES, 200)
    assert issuer.jwks_fetches - fetched == len(SERVICES)

    # The issuer rotates (the old key leaves its JWKS at once): each service sees a kid it does
    # not know, fetches the key set again at once, and accepts the token.
    old_kid = issuer.key("RS256").kid
    issuer.rotate()
    rotated = issuer.token("oidc-coordinator", roles=["coordinator"], ttl=600)
    assert jwt.get_unverified_header(rotated)["kid"] != old_kid
    answers = await read_all(cluster, rotated)
    assert statuses(answers) == dict.fromkeys(SERVICES, 200), {s: r.text for s, r in answers.items()}
    assert issuer.jwks_fetches - fetched == 2 * len(SERVICES)

    # The retired key no longer checks anywhere.
    assert_refused_quietly(await read_all(cluster, coordinator))

    # A key the issuer never published, with a kid of its own or the current one.
    for forger in (SigningKey.generate("RS256"), SigningKey.generate("RS256", kid=issuer.key("RS256").kid)):
        assert_refused_quietly(await read_all(cluster, issuer.token("mallory", roles=["admin"], key=forger)))


async def test_a_rotation_with_grace_keeps_issued_tokens_valid(issuer: LocalIssuer, cluster: Cluster) -> None:
    issued = issuer.token("oidc-coordinator", roles=["coordinator"], ttl=600)
    assert statuses(await read_all(cluster, issued)) == dict.fromkeys(SERVICES, 200)
    # A service looks for an unknown kid once per REFETCH_SECONDS: let the last look (the
    # previous test's rotation) age past it, as two rotations seconds apart do not happen.
    if (last := issuer.last_jwks_fetch()) is not None:
        await asyncio.sleep(max(0.0, last + REFETCH_SECONDS + 0.5 - time.monotonic()))
    issuer.rotate(grace=300)
    fresh = issuer.token("oidc-coordinator", roles=["coordinator"], ttl=600)
    for token in (fresh, issued):
        assert statuses(await read_all(cluster, token)) == dict.fromkeys(SERVICES, 200)


async def test_another_audience_or_issuer_is_refused(issuer: LocalIssuer, cluster: Cluster) -> None:
    # "caremesh" is the services' default audience: they hold to the configured one.
    wrong: list[dict[str, Any]] = [{"aud": "caremesh"}, {"iss": "https://idp.example"}]
    for claims in wrong:
        assert_refused_quietly(
            await read_all(cluster, issuer.token("oidc-coordinator", roles=["coordinator"], **claims))
        )
