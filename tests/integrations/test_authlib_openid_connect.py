"""Authlib's OpenID Connect client against a real server process.

Configured from ``/.well-known/openid-configuration`` alone: the code flow
with PKCE and a nonce, the ID token validated by Authlib (signature from the
JWKS, ``iss``, ``aud``, ``exp``, ``iat``, ``nonce``, ``at_hash``), UserInfo,
a refresh with a fresh ID token, and RP-initiated logout.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from joserfc.errors import InvalidClaimError

from tests.integrations.people import Administrator, Person
from tests.live_server import LiveServer
from tests.oauth_app import CallbackApp
from tests.oidc_relying_party import CloudCXOpenID

pytestmark = [pytest.mark.slow, pytest.mark.needs_oauth_server]


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def _sign_in(rp: CloudCXOpenID, app: CallbackApp, person: Person) -> tuple[dict[str, Any], str]:
    started = rp.create_authorization_url(redirect_uri=app.redirect_uri)
    assert "nonce=" in started["url"] and "code_challenge=" in started["url"]
    callback = person.visit(started["url"])
    query = _query(callback)
    assert query["state"] == started["state"]
    token: dict[str, Any] = rp.fetch_access_token(
        redirect_uri=app.redirect_uri, code=query["code"], code_verifier=started["code_verifier"]
    )
    nonce: str = started["nonce"]
    return token, nonce


@pytest.fixture
def rp(live_server: LiveServer, code_client: str) -> CloudCXOpenID:
    return CloudCXOpenID(live_server.base_url, code_client)


def test_discovery_matches_the_server(rp: CloudCXOpenID, live_server: LiveServer) -> None:
    meta = rp.load_server_metadata()
    assert meta["issuer"] == live_server.base_url
    assert "RS256" in meta["id_token_signing_alg_values_supported"]
    assert meta["userinfo_endpoint"] == live_server.url("/userinfo")


def test_id_token_validated_with_nonce(
    rp: CloudCXOpenID, callback_app: CallbackApp, person: Person, live_server: LiveServer
) -> None:
    token, nonce = _sign_in(rp, callback_app, person)
    assert token["token_type"].lower() == "bearer"
    claims = rp.parse_id_token(token, nonce=nonce)
    assert claims["iss"] == live_server.base_url
    assert claims["aud"] == rp.client_id
    assert claims["nonce"] == nonce
    assert claims["at_hash"]
    assert claims["auth_time"] <= claims["iat"]
    info = rp.userinfo(token=token)
    assert info["sub"] == claims["sub"]
    assert info["email"] == person.email
    assert info["name"] == "Avery Agent"
    # Authlib refuses the same ID token for another nonce (a replayed response).
    with pytest.raises(InvalidClaimError):
        rp.parse_id_token(token, nonce=generate_token(20))
    # ...and for another access token (at_hash, OpenID Connect Core §3.1.3.6).
    with pytest.raises(InvalidClaimError):
        rp.parse_id_token({**token, "access_token": "something-else"}, nonce=nonce)


def test_refresh_returns_an_id_token_authlib_accepts(
    rp: CloudCXOpenID, callback_app: CallbackApp, person: Person, live_server: LiveServer
) -> None:
    token, nonce = _sign_in(rp, callback_app, person)
    first = rp.parse_id_token(token, nonce=nonce)
    meta = rp.load_server_metadata()
    response = httpx.post(
        meta["token_endpoint"],
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": rp.client_id,
        },
        trust_env=False,
    )
    assert response.status_code == 200, response.text
    refreshed = response.json()
    # §12.2: no nonce in a refreshed ID token; Authlib checks none is expected then.
    again = rp.parse_id_token(refreshed, nonce=None)
    assert again["sub"] == first["sub"] and again["auth_time"] == first["auth_time"]
    assert "nonce" not in again


def test_rp_initiated_logout(
    rp: CloudCXOpenID,
    callback_app: CallbackApp,
    person: Person,
    admin: Administrator,
    code_client: str,
    live_server: LiveServer,
) -> None:
    after = callback_app.redirect_uri + "?signed-out=1"
    page = admin.edit_page(code_client)
    form = admin.settings_form(page)
    form.fill("Post-logout URIs", after)
    assert admin.submit(form, "Save", page).is_redirect
    token, _nonce = _sign_in(rp, callback_app, person)
    out = rp.create_logout_url(post_logout_redirect_uri=after, id_token_hint=token["id_token"])
    back = person.visit(out["url"])
    assert back.startswith(after + "&")
    assert _query(back)["state"] == out["state"]
    # The browser session has ended: the consent page asks to sign in again.
    assert person.http.get(live_server.url("/account/security")).status_code == 303
