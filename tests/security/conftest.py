"""Fixtures of the security tests."""

from collections.abc import Iterator

import pytest

from caremesh_testing.oidc import LocalIssuer


@pytest.fixture(scope="session")
def issuer() -> Iterator[LocalIssuer]:
    """A real OpenID Connect issuer on 127.0.0.1 (discovery, JWKS, RS256/ES256 tokens), for the
    whole run. ``issuer.service_env()`` points a ``Cluster``'s services at it. A test may rotate
    its keys: mint tokens after the services start rather than holding them across tests."""
    # Not the services' default audience, so that a cluster left without service_env() refuses.
    with LocalIssuer(audience="caremesh-api") as running:
        yield running
