"""Hypothesis fuzz of what OpenID Connect and DPoP added: only their errors come back.

Mangled DPoP proofs (random JOSE headers and claims, wrong types, broken
base64, keys of every kind, private members) at the token endpoint and the
API; random credentials and forms at ``/userinfo``; random query strings at the
logout endpoint. Whatever arrives, the answer is a success or the error its
specification names — never a 5xx.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import jwt
import pytest
from hypothesis import strategies as st

from cloudcx.accounts.models import User
from cloudcx.oauth.models import OAuthClient
from tests import helpers
from tests.fuzz.drawing import drawn
from tests.oauth.dpop_keys import DPoPKey

EXAMPLES = 150
TOKEN_URL = "http://localhost/oauth/token"
ME_URL = "http://localhost/api/v1/me"
TOKEN_ERRORS = {"invalid_dpop_proof", "use_dpop_nonce", "invalid_request", "invalid_grant"}
BEARER_ERRORS = {"invalid_token", "invalid_dpop_proof", "use_dpop_nonce", "insufficient_scope"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes) -> str:
    return ".".join(
        [b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(signature)]
    )


KEY = DPoPKey()
RSA = DPoPKey("RS256")


def signed(overrides: dict[str, Any], header: dict[str, Any], url: str, key: DPoPKey) -> str:
    """A real signature over claims and headers some of which are replaced (PyJWT
    refuses to sign some headers, e.g. a non-string ``alg``: those go unsigned)."""
    try:
        return key.proof("POST" if url == TOKEN_URL else "GET", url, header=header, **overrides)
    except (TypeError, ValueError, KeyError, NotImplementedError, jwt.PyJWTError):
        return unsigned({"typ": "dpop+jwt", "jwk": key.jwk, **header}, overrides, b"signature")


claim_overrides = st.dictionaries(
    st.sampled_from(["jti", "htm", "htu", "iat", "ath", "nonce", "exp", "x"]),
    json_values,
    max_size=3,
)
header_overrides = st.dictionaries(
    st.sampled_from(["typ", "alg", "jwk", "kid", "crit", "x5c"]),
    st.one_of(
        json_values,
        st.sampled_from(["dpop+jwt", "JWT", "none", "HS256", "ES256", "RS256", "EdDSA"]),
        st.just({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}),
        st.just({**KEY.jwk, "d": "AAAA"}),
        st.just({"kty": "oct", "k": "c2VjcmV0"}),
        st.just(RSA.jwk),
    ),
    max_size=2,
)
proof_values = st.one_of(
    st.text(max_size=60),
    st.builds(
        unsigned,
        st.dictionaries(st.sampled_from(["typ", "alg", "jwk"]), json_values, max_size=3),
        st.dictionaries(st.text(max_size=5), json_values, max_size=4),
        st.binary(max_size=64),
    ),
    st.just("a.b.c"),
    st.just("...."),
)


def proofs(url: str) -> list[str]:
    """Noise, and well-signed proofs with a field or two replaced."""
    mangled = st.builds(
        signed, claim_overrides, header_overrides, st.just(url), st.sampled_from([KEY, RSA])
    )
    return drawn(st.one_of(proof_values, mangled, mangled), EXAMPLES)


def raw(value: str) -> bytes:
    """A header's bytes as sent: httpx would refuse a non-ASCII ``str``."""
    return value.encode("utf-8", "surrogatepass")


def assert_oauth_refusal(response: httpx.Response) -> None:
    assert response.status_code in (400, 401), response.text
    body = response.json()
    assert body["error"] in TOKEN_ERRORS, body
    assert response.headers["cache-control"] == "no-store"


def assert_bearer_refusal(response: httpx.Response) -> None:
    assert response.status_code in (400, 401, 403), response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.split(" ", 1)[0] in ("Bearer", "DPoP"), challenge
    errors = [e for e in BEARER_ERRORS | {"invalid_request"} if f'error="{e}"' in challenge]
    assert errors or 'error="' not in challenge, challenge


async def test_token_endpoint_refuses_every_broken_proof(
    http: httpx.AsyncClient, admin: User, oauth_client: OAuthClient
) -> None:
    data = helpers.password_form(client_id=oauth_client.client_id, email=admin.email)
    for proof in proofs(TOKEN_URL):
        response = await http.post("/oauth/token", data=data, headers={"DPoP": raw(proof)})
        assert response.status_code < 500, f"{proof!r} -> {response.text}"
        if response.status_code == 200:
            # Only a valid proof gets a token, and then the token is bound.
            assert response.json()["token_type"] == "DPoP", proof
            continue
        assert_oauth_refusal(response)


async def test_api_refuses_every_broken_proof(
    http: httpx.AsyncClient, admin: User, oauth_client: OAuthClient
) -> None:
    data = helpers.password_form(client_id=oauth_client.client_id, email=admin.email)
    bound = await http.post("/oauth/token", data=data, headers={"DPoP": KEY.proof()})
    assert bound.status_code == 200, bound.text
    token = bound.json()["access_token"]
    for proof in proofs(ME_URL):
        response = await http.get(
            "/api/v1/me", headers={"Authorization": f"DPoP {token}", "DPoP": raw(proof)}
        )
        assert response.status_code < 500, f"{proof!r} -> {response.text}"
        assert response.status_code != 200, f"accepted without ath: {proof!r}"
        assert_bearer_refusal(response)


authorizations = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.sampled_from(["Bearer", "Bearer ", "DPoP", "DPoP x", "Bearer a b", "bearer cx_key_x"]),
    proof_values.map(lambda v: f"Bearer {v}"),
)
forms = st.dictionaries(
    st.sampled_from(["access_token", "x", "scope"]), st.text(max_size=30), max_size=2
)


async def test_userinfo_answers_only_rfc_6750_errors(http: httpx.AsyncClient) -> None:
    cases = drawn(st.tuples(st.sampled_from(["GET", "POST"]), authorizations, forms), EXAMPLES)
    for method, authorization, form in cases:
        headers = {"Authorization": raw(authorization)} if authorization is not None else {}
        if method == "POST":
            response = await http.post("/userinfo", data=form, headers=headers)
        else:
            response = await http.get("/userinfo", headers=headers)
        assert response.status_code < 500, f"{method} {authorization!r} {form!r} -> {response.text}"
        assert_bearer_refusal(response)


logout_params = st.dictionaries(
    st.sampled_from(
        ["id_token_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales", "x"]
    ),
    st.one_of(
        st.text(max_size=40),
        proof_values,
        st.just("https://app.example/signed-out"),
        st.builds(
            lambda claims: jwt.encode(claims, "not-our-key-" + "k" * 32, algorithm="HS256"),
            st.dictionaries(st.sampled_from(["iss", "aud", "sub", "sid"]), st.text(max_size=8)),
        ),
    ),
    max_size=4,
)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_logout_endpoint_never_fails(http: httpx.AsyncClient, method: str) -> None:
    for params in drawn(logout_params, 100):
        if method == "GET":
            response = await http.get("/oauth/logout", params=params)
        else:
            response = await http.post("/oauth/logout", data=params)
        assert response.status_code < 500, f"{params!r} -> {response.text}"
        # A page (the confirmation, signed out, or an error page) or a redirect.
        assert response.status_code in (200, 302, 303, 400), (params, response.status_code)
