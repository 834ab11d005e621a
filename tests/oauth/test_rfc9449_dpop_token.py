"""RFC 9449 §5, §8: DPoP at the token endpoint — bound tokens for every grant,
refresh tokens of public clients bound to the key, Require DPoP, nonces."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.oauth.dpop_binding import DPoPVerifier
from cloudcx.oauth.models import OAuthClient, RefreshToken
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from tests.helpers import PASSWORD, login
from tests.oauth.dpop_keys import TOKEN_URL, DPoPKey
from tests.oauth.flows import (
    SECRET,
    assert_oauth_error,
    authorize_params,
    code_data,
    configure,
    get_code,
    query_of,
)


def claims_of(token: str) -> dict[str, Any]:
    found: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return found


def password_data(client: OAuthClient, email: str) -> dict[str, str]:
    return {
        "grant_type": "password",
        "username": email,
        "password": PASSWORD,
        "client_id": client.client_id,
    }


async def token_request(
    http: httpx.AsyncClient, data: dict[str, str], proof: str | None = None
) -> httpx.Response:
    headers = {"DPoP": proof} if proof is not None else {}
    return await http.post("/oauth/token", data=data, headers=headers)


def assert_bound(body: dict[str, Any], key: DPoPKey) -> None:
    assert body["token_type"] == "DPoP"
    assert claims_of(body["access_token"])["cnf"] == {"jkt": key.jkt}


@pytest.fixture
async def client(db: AsyncSession, oauth_client: OAuthClient) -> OAuthClient:
    """A public client allowed every grant but client credentials' own condition."""
    return await configure(db, oauth_client)


@pytest.fixture
async def confidential(db: AsyncSession, oauth_client: OAuthClient) -> OAuthClient:
    return await configure(db, oauth_client, confidential=True)


@pytest.fixture
def nonces_required(platform: Platform) -> Iterator[DPoPVerifier]:
    platform.dpop.nonce_required = True
    yield platform.dpop
    platform.dpop.nonce_required = False


async def test_password_grant_binds_access_and_refresh_tokens(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, admin: User
) -> None:
    key = DPoPKey()
    response = await token_request(http, password_data(client, admin.email), key.proof())
    assert response.status_code == 200, response.text
    body = response.json()
    assert_bound(body, key)
    row = await db.scalar(select(RefreshToken))
    assert row is not None and row.dpop_jkt == key.jkt
    # No nonce was asked for: none is offered.
    assert "dpop-nonce" not in response.headers


async def test_without_a_proof_tokens_stay_bearer(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, admin: User
) -> None:
    response = await token_request(http, password_data(client, admin.email))
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"
    assert "cnf" not in claims_of(response.json()["access_token"])
    row = await db.scalar(select(RefreshToken))
    assert row is not None and row.dpop_jkt is None


async def test_authorization_code_grant_binds(
    http: httpx.AsyncClient, client: OAuthClient, admin: User
) -> None:
    key = DPoPKey("RS256")
    code = await get_code(http, client, admin.email)
    response = await token_request(http, code_data(client, code), key.proof())
    assert response.status_code == 200, response.text
    assert_bound(response.json(), key)


async def test_a_refused_proof_leaves_the_code_unused(
    http: httpx.AsyncClient, client: OAuthClient, admin: User
) -> None:
    """The proof is checked before the grant: a client that fixes it may retry."""
    key = DPoPKey()
    data = code_data(client, await get_code(http, client, admin.email))
    bad = await token_request(http, data, key.proof("GET"))
    assert_oauth_error(bad, 400, "invalid_dpop_proof")
    good = await token_request(http, data, key.proof())
    assert good.status_code == 200, good.text
    assert_bound(good.json(), key)


async def test_client_credentials_grant_binds(
    http: httpx.AsyncClient, confidential: OAuthClient
) -> None:
    key = DPoPKey("PS256")
    data = {
        "grant_type": "client_credentials",
        "client_id": confidential.client_id,
        "client_secret": SECRET,
    }
    response = await token_request(http, data, key.proof())
    assert response.status_code == 200, response.text
    assert_bound(response.json(), key)
    assert "refresh_token" not in response.json()


@pytest.mark.parametrize(
    "proof",
    [
        lambda k: k.proof("GET"),
        lambda k: k.proof(url="http://localhost/oauth/introspect"),
        lambda k: k.proof(header={"typ": "JWT"}),
        lambda k: k.proof(iat=int(time.time()) - 3600),
        lambda k: "garbage",
    ],
    ids=["htm", "htu", "typ", "iat", "malformed"],
)
async def test_an_invalid_proof_is_invalid_dpop_proof(
    http: httpx.AsyncClient, client: OAuthClient, admin: User, proof: Any
) -> None:
    response = await token_request(http, password_data(client, admin.email), proof(DPoPKey()))
    assert_oauth_error(response, 400, "invalid_dpop_proof")


async def test_two_dpop_headers_are_refused(
    http: httpx.AsyncClient, client: OAuthClient, admin: User
) -> None:
    key = DPoPKey()
    response = await http.post(
        "/oauth/token",
        data=password_data(client, admin.email),
        headers=[("DPoP", key.proof()), ("DPoP", key.proof())],
    )
    assert_oauth_error(response, 400, "invalid_dpop_proof")
    assert "exactly one" in response.json()["error_description"]


async def test_a_replayed_proof_is_refused(
    http: httpx.AsyncClient, client: OAuthClient, admin: User
) -> None:
    key = DPoPKey()
    proof = key.proof()
    first = await token_request(http, password_data(client, admin.email), proof)
    assert first.status_code == 200, first.text
    again = await token_request(http, password_data(client, admin.email), proof)
    assert_oauth_error(again, 400, "invalid_dpop_proof")
    assert "used before" in again.json()["error_description"]


class TestRefreshBinding:
    async def bound_tokens(
        self, http: httpx.AsyncClient, client: OAuthClient, admin: User, key: DPoPKey
    ) -> dict[str, Any]:
        response = await token_request(http, password_data(client, admin.email), key.proof())
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def refresh_data(self, client: OAuthClient, value: str, **extra: str) -> dict[str, str]:
        return {
            "grant_type": "refresh_token",
            "refresh_token": value,
            "client_id": client.client_id,
            **extra,
        }

    async def test_same_key_refreshes_and_stays_bound(
        self, http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, admin: User
    ) -> None:
        key = DPoPKey()
        tokens = await self.bound_tokens(http, client, admin, key)
        response = await token_request(
            http, self.refresh_data(client, tokens["refresh_token"]), key.proof()
        )
        assert response.status_code == 200, response.text
        assert_bound(response.json(), key)
        rows = list(await db.scalars(select(RefreshToken)))
        assert len(rows) == 2 and {r.dpop_jkt for r in rows} == {key.jkt}

    @pytest.mark.parametrize("sent", ["none", "other-key"])
    async def test_without_the_key_the_refresh_is_refused_and_the_token_kept(
        self, http: httpx.AsyncClient, client: OAuthClient, admin: User, sent: str
    ) -> None:
        """§5: the client "MUST present a DPoP proof for the same key"; a refusal
        does not use the token up, so the holder of the key can still refresh."""
        key = DPoPKey()
        tokens = await self.bound_tokens(http, client, admin, key)
        data = self.refresh_data(client, tokens["refresh_token"])
        proof = None if sent == "none" else DPoPKey().proof()
        assert_oauth_error(await token_request(http, data, proof), 400, "invalid_grant")
        retry = await token_request(http, data, key.proof())
        assert retry.status_code == 200, retry.text

    async def test_confidential_clients_refresh_tokens_are_not_bound(
        self, http: httpx.AsyncClient, db: AsyncSession, confidential: OAuthClient, admin: User
    ) -> None:
        """§5: a confidential client's refresh token is bound by its authentication."""
        key = DPoPKey()
        data = {**password_data(confidential, admin.email), "client_secret": SECRET}
        first = await token_request(http, data, key.proof())
        assert first.status_code == 200, first.text
        assert_bound(first.json(), key)
        row = await db.scalar(select(RefreshToken))
        assert row is not None and row.dpop_jkt is None
        again = await token_request(
            http,
            self.refresh_data(confidential, first.json()["refresh_token"], client_secret=SECRET),
        )
        assert again.status_code == 200, again.text
        assert again.json()["token_type"] == "Bearer"


class TestRequireDPoP:
    @pytest.fixture
    async def strict(self, db: AsyncSession, oauth_client: OAuthClient) -> OAuthClient:
        return await configure(db, oauth_client, require_dpop=True)

    async def test_a_request_without_a_proof_is_refused(
        self, http: httpx.AsyncClient, strict: OAuthClient, admin: User
    ) -> None:
        response = await token_request(http, password_data(strict, admin.email))
        assert_oauth_error(response, 400, "invalid_dpop_proof")

    async def test_a_request_with_a_proof_is_bound(
        self, http: httpx.AsyncClient, strict: OAuthClient, admin: User
    ) -> None:
        key = DPoPKey()
        response = await token_request(http, password_data(strict, admin.email), key.proof())
        assert response.status_code == 200, response.text
        assert_bound(response.json(), key)

    async def test_the_refresh_grant_is_refused_without_a_proof_too(
        self, http: httpx.AsyncClient, db: AsyncSession, strict: OAuthClient, admin: User
    ) -> None:
        key = DPoPKey()
        first = await token_request(http, password_data(strict, admin.email), key.proof())
        data = {
            "grant_type": "refresh_token",
            "refresh_token": first.json()["refresh_token"],
            "client_id": strict.client_id,
        }
        assert_oauth_error(await token_request(http, data), 400, "invalid_dpop_proof")


class TestNonces:
    async def test_without_a_nonce_the_server_sends_one(
        self,
        http: httpx.AsyncClient,
        client: OAuthClient,
        admin: User,
        nonces_required: DPoPVerifier,
    ) -> None:
        """§8: 400 ``use_dpop_nonce`` with ``DPoP-Nonce``; the retry with it works."""
        key = DPoPKey()
        data = password_data(client, admin.email)
        first = await token_request(http, data, key.proof())
        assert_oauth_error(first, 400, "use_dpop_nonce")
        nonce = first.headers["dpop-nonce"]
        retry = await token_request(http, data, key.proof(nonce=nonce))
        assert retry.status_code == 200, retry.text
        assert_bound(retry.json(), key)
        assert retry.headers["dpop-nonce"] == nonce  # §8.2: the current one, again

    @pytest.mark.parametrize("which", ["stale", "made-up", "other-tenant"])
    async def test_a_nonce_not_current_here_is_refused(
        self,
        http: httpx.AsyncClient,
        client: OAuthClient,
        admin: User,
        tenant: TenantInfo,
        other_tenant: TenantInfo,
        nonces_required: DPoPVerifier,
        which: str,
    ) -> None:
        nonces = nonces_required.nonces
        nonce = {
            "stale": nonces.current(tenant.id, time.time() - 2 * nonces.slot_seconds - 1),
            "made-up": "bm90LWEtbm9uY2U",
            "other-tenant": nonces.current(other_tenant.id),
        }[which]
        response = await token_request(
            http, password_data(client, admin.email), DPoPKey().proof(nonce=nonce)
        )
        assert_oauth_error(response, 400, "use_dpop_nonce")
        assert response.headers["dpop-nonce"] == nonces.current(tenant.id)

    async def test_nonces_not_required_by_default(
        self, http: httpx.AsyncClient, platform: Platform, client: OAuthClient, admin: User
    ) -> None:
        assert platform.settings.dpop_nonce_required is False
        response = await token_request(
            http, password_data(client, admin.email), DPoPKey().proof(nonce="anything")
        )
        assert response.status_code == 200, response.text


async def test_a_proof_for_another_tenant_is_refused(
    http: httpx.AsyncClient,
    client: OAuthClient,
    admin: User,
    other_tenant: TenantInfo,
) -> None:
    """``htu`` names the tenant's URL: a proof made for one tenant fails at another."""
    proof = DPoPKey().proof(url="http://globex.example/oauth/token")
    response = await token_request(http, password_data(client, admin.email), proof)
    assert_oauth_error(response, 400, "invalid_dpop_proof")
    assert TOKEN_URL.startswith("http://localhost")


async def test_metadata_advertises_the_proof_algorithms(
    http: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    """§5.1 ``dpop_signing_alg_values_supported``: asymmetric algorithms only."""
    body = (await http.get("/.well-known/oauth-authorization-server")).json()
    algs = body["dpop_signing_alg_values_supported"]
    assert "ES256" in algs and "RS256" in algs and "PS256" in algs
    assert not [a for a in algs if a.startswith("HS") or a == "none"]


class TestAuthorizationRequestBinding:
    """§10: ``dpop_jkt`` in the authorization request binds the code to a key."""

    async def test_the_named_key_gets_the_tokens(
        self, http: httpx.AsyncClient, client: OAuthClient, admin: User
    ) -> None:
        key = DPoPKey()
        code = await get_code(http, client, admin.email, dpop_jkt=key.jkt)
        response = await token_request(http, code_data(client, code), key.proof())
        assert response.status_code == 200, response.text
        assert_bound(response.json(), key)

    @pytest.mark.parametrize("sent", ["none", "other-key"])
    async def test_another_key_or_none_is_invalid_grant_and_keeps_the_code(
        self, http: httpx.AsyncClient, client: OAuthClient, admin: User, sent: str
    ) -> None:
        key = DPoPKey()
        data = code_data(client, await get_code(http, client, admin.email, dpop_jkt=key.jkt))
        proof = None if sent == "none" else DPoPKey().proof()
        assert_oauth_error(await token_request(http, data, proof), 400, "invalid_grant")
        retry = await token_request(http, data, key.proof())
        assert retry.status_code == 200, retry.text

    async def test_a_malformed_dpop_jkt_is_invalid_request(
        self, http: httpx.AsyncClient, client: OAuthClient, admin: User
    ) -> None:
        await login(http, admin.email)
        response = await http.get(
            "/oauth/authorize", params=authorize_params(client, dpop_jkt="not-a-thumbprint")
        )
        assert response.status_code in (302, 303), response.text
        assert query_of(response)["error"] == "invalid_request"
