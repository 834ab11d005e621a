"""A resource server in another stack verifies our access tokens on its own.

It knows only the issuer's ``jwks_uri`` and uses PyJWT's ``PyJWKClient``, as a
Python API behind the same authorization server would (RFC 9068 §4: check
``typ``, ``iss``, ``aud``, ``exp`` and the signature with the published key).
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from jwt import PyJWKClient

from tests.live_server import LiveServer

pytestmark = pytest.mark.slow

REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"]
KEY_PICKUP_SECONDS = 5.0


class ResourceServer:
    """What a third-party API needs to trust our tokens: issuer, audience, JWKS."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self.audience = issuer + "/api/v1"
        self.jwks = PyJWKClient(issuer + "/.well-known/jwks.json", timeout=5)

    def verify(self, token: str) -> dict[str, Any]:
        header = jwt.get_unverified_header(token)
        if header.get("typ") != "at+jwt":
            raise jwt.InvalidTokenError(f"not an RFC 9068 access token: typ={header.get('typ')}")
        key = self.jwks.get_signing_key_from_jwt(token)
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            issuer=self.issuer,
            audience=self.audience,
            options={"require": REQUIRED_CLAIMS},
        )
        return claims


@pytest.fixture
def resource_server(live_server: LiveServer) -> ResourceServer:
    return ResourceServer(live_server.base_url)


def test_the_issuer_is_the_servers_url_and_the_audience_its_api(
    live_server: LiveServer, client_id: str, resource_server: ResourceServer
) -> None:
    answer = live_server.password_token(client_id)
    token = answer["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "RS256"
    assert header["kid"]

    claims = resource_server.verify(token)
    assert claims["iss"] == f"http://127.0.0.1:{live_server.port}"
    assert claims["aud"] == claims["iss"] + "/api/v1"
    assert claims["client_id"] == client_id
    assert claims["exp"] - claims["iat"] == answer["expires_in"]
    assert claims["iat"] <= time.time() + 5
    assert set(claims["scope"].split()) == set(answer["scope"].split())


def test_tokens_for_another_audience_issuer_or_time_are_refused(
    live_server: LiveServer, client_id: str, resource_server: ResourceServer
) -> None:
    token = live_server.password_token(client_id)["access_token"]
    key = resource_server.jwks.get_signing_key_from_jwt(token)

    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(token, key.key, algorithms=["RS256"], audience="http://elsewhere.example/api")
    with pytest.raises(jwt.InvalidIssuerError):
        jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=resource_server.audience,
            issuer="http://elsewhere.example",
        )
    # The same token checked once it has expired: a negative leeway moves the
    # resource server's clock past `exp` (iat would then lie in the future).
    claims = jwt.decode(token, options={"verify_signature": False})
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=resource_server.audience,
            leeway=-(claims["exp"] - time.time() + 1),
            options={"verify_iat": False},
        )
    # A changed payload no longer matches the signature.
    head, payload, signature = token.split(".")
    forged = ".".join(
        [head, payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1], signature]
    )
    with pytest.raises(jwt.InvalidTokenError):
        resource_server.verify(forged)


def test_tokens_signed_before_and_after_a_key_rotation_both_verify(
    live_server: LiveServer, client_id: str, resource_server: ResourceServer
) -> None:
    before = live_server.password_token(client_id)["access_token"]
    resource_server.verify(before)
    old_kid = jwt.get_unverified_header(before)["kid"]

    live_server.cli("keys", "rotate")
    deadline = time.monotonic() + KEY_PICKUP_SECONDS
    after = live_server.password_token(client_id)["access_token"]
    while jwt.get_unverified_header(after)["kid"] == old_kid and time.monotonic() < deadline:
        time.sleep(0.2)
        after = live_server.password_token(client_id)["access_token"]
    assert jwt.get_unverified_header(after)["kid"] != old_kid, "the server kept the old key"

    # The retired key stays published while tokens it signed are still valid.
    # (A fresh client: PyJWKClient waits a cooldown before refetching a cached set.)
    restarted = ResourceServer(live_server.base_url)
    assert restarted.verify(after)["client_id"] == client_id
    assert restarted.verify(before)["client_id"] == client_id
