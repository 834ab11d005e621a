"""RFC 9449 §6.2, §7, §9: DPoP-bound tokens at the CX API and at introspection."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from cloudcx.accounts.models import User
from cloudcx.apikeys import service as apikeys
from cloudcx.oauth.dpop_binding import DPoPVerifier, request_url
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from tests.helpers import PASSWORD, bearer
from tests.oauth.dpop_keys import ME_URL, DPoPKey, dpop_headers
from tests.oauth.flows import SECRET, configure

ALGS = re.compile(r'algs="[^"]*ES256[^"]*"')


async def dpop_token(
    http: httpx.AsyncClient,
    client: OAuthClient,
    email: str,
    key: DPoPKey,
    proof: str | None = None,
) -> str:
    response = await http.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": email,
            "password": PASSWORD,
            "client_id": client.client_id,
        },
        headers={"DPoP": proof or key.proof()},
    )
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "DPoP"
    value: str = response.json()["access_token"]
    return value


def assert_dpop_challenge(response: httpx.Response, error: str) -> None:
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("DPoP "), challenge
    assert f'error="{error}"' in challenge
    assert ALGS.search(challenge), challenge
    assert response.json()["error"] == error


@pytest.fixture
def key() -> DPoPKey:
    return DPoPKey()


@pytest.fixture
async def token(
    http: httpx.AsyncClient, oauth_client: OAuthClient, admin: User, key: DPoPKey
) -> str:
    return await dpop_token(http, oauth_client, admin.email, key)


async def test_a_bound_token_with_its_proof_is_accepted(
    http: httpx.AsyncClient, admin: User, key: DPoPKey, token: str
) -> None:
    response = await http.get("/api/v1/me", headers=dpop_headers(key, token))
    assert response.status_code == 200, response.text
    assert response.json()["user"]["email"] == admin.email


async def test_other_operations_accept_dpop_too(
    http: httpx.AsyncClient, key: DPoPKey, token: str
) -> None:
    url = "http://localhost/api/v1/tickets"
    response = await http.get("/api/v1/tickets?limit=5", headers=dpop_headers(key, token, url=url))
    assert response.status_code == 200, response.text


async def test_the_scheme_name_is_case_insensitive(
    http: httpx.AsyncClient, key: DPoPKey, token: str
) -> None:
    headers = dpop_headers(key, token)
    headers["Authorization"] = f"dpop {token}"
    assert (await http.get("/api/v1/me", headers=headers)).status_code == 200


async def test_a_bound_token_sent_as_bearer_is_refused(http: httpx.AsyncClient, token: str) -> None:
    """§7.2: a protected resource "MUST reject a DPoP-bound access token received
    as a bearer token"."""
    assert_dpop_challenge(await http.get("/api/v1/me", headers=bearer(token)), "invalid_token")


async def test_a_bound_token_as_bearer_with_a_proof_is_still_refused(
    http: httpx.AsyncClient, key: DPoPKey, token: str
) -> None:
    headers = {**bearer(token), "DPoP": key.proof("GET", ME_URL, access_token=token)}
    assert_dpop_challenge(await http.get("/api/v1/me", headers=headers), "invalid_token")


async def test_an_unbound_token_sent_as_dpop_is_refused(
    http: httpx.AsyncClient, oauth_client: OAuthClient, admin: User, key: DPoPKey
) -> None:
    plain = await http.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": admin.email,
            "password": PASSWORD,
            "client_id": oauth_client.client_id,
        },
    )
    value = plain.json()["access_token"]
    response = await http.get("/api/v1/me", headers=dpop_headers(key, value))
    assert_dpop_challenge(response, "invalid_token")
    # The same token as Bearer is fine: unbound tokens work as before.
    assert (await http.get("/api/v1/me", headers=bearer(value))).status_code == 200


async def test_an_api_key_sent_as_dpop_is_refused(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, key: DPoPKey
) -> None:
    created = await apikeys.create_key(db, admin, name="k", scopes=["tickets:read"])
    await db.commit()
    response = await http.get("/api/v1/me", headers=dpop_headers(key, created.secret))
    assert_dpop_challenge(response, "invalid_token")


async def test_a_proof_from_another_key_is_invalid_token(
    http: httpx.AsyncClient, token: str
) -> None:
    """§7.1: the proof's key must be the one the token is bound to."""
    response = await http.get("/api/v1/me", headers=dpop_headers(DPoPKey(), token))
    assert_dpop_challenge(response, "invalid_token")


@pytest.mark.parametrize(
    "proof",
    [
        lambda k, t: None,
        lambda k, t: k.proof("GET", ME_URL),
        lambda k, t: k.proof("GET", ME_URL, access_token=t + "x"),
        lambda k, t: k.proof("POST", ME_URL, access_token=t),
        lambda k, t: k.proof("GET", "http://localhost/api/v1/tickets", access_token=t),
        lambda k, t: k.proof("GET", ME_URL, access_token=t, header={"typ": "JWT"}),
    ],
    ids=["no-proof", "no-ath", "ath-of-another-token", "htm", "htu", "typ"],
)
async def test_invalid_proofs_are_invalid_dpop_proof(
    http: httpx.AsyncClient, key: DPoPKey, token: str, proof: Any
) -> None:
    headers = {"Authorization": f"DPoP {token}"}
    value = proof(key, token)
    if value is not None:
        headers["DPoP"] = value
    assert_dpop_challenge(await http.get("/api/v1/me", headers=headers), "invalid_dpop_proof")


async def test_the_query_is_not_part_of_htu(
    http: httpx.AsyncClient, key: DPoPKey, token: str
) -> None:
    response = await http.get("/api/v1/me?x=1", headers=dpop_headers(key, token))
    assert response.status_code == 200, response.text


async def test_a_replayed_proof_is_refused(
    http: httpx.AsyncClient, key: DPoPKey, token: str
) -> None:
    headers = dpop_headers(key, token)
    assert (await http.get("/api/v1/me", headers=headers)).status_code == 200
    assert_dpop_challenge(await http.get("/api/v1/me", headers=headers), "invalid_dpop_proof")


@pytest.fixture
def nonces_required(platform: Platform) -> Iterator[DPoPVerifier]:
    platform.dpop.nonce_required = True
    yield platform.dpop
    platform.dpop.nonce_required = False


async def test_a_required_nonce_is_asked_for_with_401(
    http: httpx.AsyncClient,
    tenant: TenantInfo,
    oauth_client: OAuthClient,
    admin: User,
    key: DPoPKey,
    nonces_required: DPoPVerifier,
) -> None:
    """§9: 401, ``WWW-Authenticate: DPoP error="use_dpop_nonce"`` and ``DPoP-Nonce``."""
    nonce = nonces_required.nonces.current(tenant.id)
    token = await dpop_token(http, oauth_client, admin.email, key, key.proof(nonce=nonce))
    first = await http.get("/api/v1/me", headers=dpop_headers(key, token))
    assert_dpop_challenge(first, "use_dpop_nonce")
    assert first.headers["dpop-nonce"] == nonce
    proof = key.proof("GET", ME_URL, access_token=token, nonce=first.headers["dpop-nonce"])
    retry = await http.get("/api/v1/me", headers={"Authorization": f"DPoP {token}", "DPoP": proof})
    assert retry.status_code == 200, retry.text


async def test_a_token_of_one_tenant_is_refused_at_another(
    http: httpx.AsyncClient, other_tenant: TenantInfo, key: DPoPKey, token: str
) -> None:
    """Even with a proof made for the other tenant's URL, the token is not its."""
    url = "http://globex.example/api/v1/me"
    response = await http.get(url, headers=dpop_headers(key, token, url=url))
    assert_dpop_challenge(response, "invalid_token")


def test_the_request_url_is_the_tenant_url_the_client_reached() -> None:
    """Behind a trusted proxy the base URL is the forwarded one (tenancy middleware)."""
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/v1/me",
        "raw_path": b"/api/v1/me",
        "query_string": b"x=1",
        "headers": [],
        "state": {"base_url": "https://CX.acme.example:443"},
    }
    assert request_url(Request(scope)) == "https://cx.acme.example/api/v1/me"


class TestIntrospection:
    async def test_a_bound_token_has_cnf_and_type_dpop(
        self, http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient, admin: User
    ) -> None:
        """§6.2: the response carries ``cnf.jkt``; RFC 7662 ``token_type`` is DPoP."""
        client = await configure(db, oauth_client, confidential=True)
        key = DPoPKey()
        response = await http.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client.client_id,
                "client_secret": SECRET,
            },
            headers={"DPoP": key.proof()},
        )
        value = response.json()["access_token"]
        body = (
            await http.post(
                "/oauth/introspect",
                data={"token": value, "client_id": client.client_id, "client_secret": SECRET},
            )
        ).json()
        assert body["active"] is True
        assert body["token_type"] == "DPoP"
        assert body["cnf"] == {"jkt": key.jkt}


async def test_the_bearer_path_does_no_dpop_work(
    http: httpx.AsyncClient,
    platform: Platform,
    oauth_client: OAuthClient,
    admin: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DESIGN.md §8: an unbound bearer token, even beside a stray DPoP header, is
    checked as before; no proof is parsed and no replay cache is asked."""

    async def forbidden(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("the bearer path checked a DPoP proof")

    plain = await http.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": admin.email,
            "password": PASSWORD,
            "client_id": oauth_client.client_id,
        },
    )
    value = plain.json()["access_token"]
    monkeypatch.setattr(platform.dpop, "check", forbidden)
    headers = {**bearer(value), "DPoP": "eyJ.stray.proof"}
    assert (await http.get("/api/v1/me", headers=headers)).status_code == 200


async def test_a_revoked_bound_token_is_refused_with_a_dpop_challenge(
    http: httpx.AsyncClient, oauth_client: OAuthClient, platform: Platform, key: DPoPKey, token: str
) -> None:
    revoked = await http.post(
        "/oauth/revoke", data={"token": token, "client_id": oauth_client.client_id}
    )
    assert revoked.status_code == 200, revoked.text
    await platform.revocations.refresh()
    response = await http.get("/api/v1/me", headers=dpop_headers(key, token))
    assert_dpop_challenge(response, "invalid_token")
