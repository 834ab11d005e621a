"""OpenID Connect Discovery 1.0 §4: the provider metadata beside RFC 8414's."""

from __future__ import annotations

import httpx
import pytest

from cloudcx.tenancy.service import TenantInfo

pytestmark = pytest.mark.usefixtures("tenant")

OPENID = "/.well-known/openid-configuration"
OAUTH = "/.well-known/oauth-authorization-server"


async def test_openid_configuration(http: httpx.AsyncClient) -> None:
    response = await http.get(OPENID)
    assert response.status_code == 200
    meta = response.json()
    assert meta["issuer"] == "http://localhost"
    assert meta["authorization_endpoint"] == "http://localhost/oauth/authorize"
    assert meta["token_endpoint"] == "http://localhost/oauth/token"
    assert meta["jwks_uri"] == "http://localhost/.well-known/jwks.json"
    assert meta["userinfo_endpoint"] == "http://localhost/userinfo"
    assert meta["end_session_endpoint"] == "http://localhost/oauth/logout"
    assert meta["response_types_supported"] == ["code"]
    assert meta["subject_types_supported"] == ["public"]
    assert meta["id_token_signing_alg_values_supported"] == ["RS256"]
    assert {"openid", "profile", "email"} <= set(meta["scopes_supported"])
    assert meta["prompt_values_supported"] == ["none", "login", "consent"]
    assert {
        "sub",
        "iss",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "at_hash",
        "azp",
        "sid",
        "name",
        "email",
        "email_verified",
        "updated_at",
    } <= set(meta["claims_supported"])
    assert meta["request_uri_parameter_supported"] is False


async def test_same_document_at_both_addresses(http: httpx.AsyncClient) -> None:
    """RFC 8414 §1 and Discovery §4.3: one issuer, the same values."""
    assert (await http.get(OPENID)).json() == (await http.get(OAUTH)).json()


async def test_each_tenant_is_its_own_issuer(
    http: httpx.AsyncClient, other_tenant: TenantInfo
) -> None:
    meta = (await http.get(OPENID, headers={"Host": "globex.example"})).json()
    assert meta["issuer"] == "http://globex.example"
    assert meta["userinfo_endpoint"] == "http://globex.example/userinfo"


async def test_unknown_host_has_no_configuration(http: httpx.AsyncClient) -> None:
    response = await http.get(OPENID, headers={"Host": "nobody.example"})
    assert response.status_code == 404
