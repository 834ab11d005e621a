"""DPoP proofs made by another JOSE library (joserfc) than the server's (PyJWT)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from cloudcx.accounts.models import User
from cloudcx.oauth.models import OAuthClient
from tests.helpers import PASSWORD
from tests.oauth.dpop_keys import ME_URL, TOKEN_URL

KEYS = {
    "ES256": lambda: ECKey.generate_key("P-256"),
    "ES384": lambda: ECKey.generate_key("P-384"),
    "PS256": lambda: RSAKey.generate_key(2048),
}


def proof(key: Any, alg: str, method: str, url: str, token: str | None = None) -> str:
    claims: dict[str, Any] = {
        "jti": uuid.uuid4().hex,
        "htm": method,
        "htu": url,
        "iat": int(time.time()),
    }
    if token is not None:
        digest = hashlib.sha256(token.encode()).digest()
        claims["ath"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    header = {"alg": alg, "typ": "dpop+jwt", "jwk": key.as_dict(private=False)}
    return jwt.encode(header, claims, key, algorithms=[alg])


@pytest.mark.parametrize("alg", list(KEYS))
async def test_a_joserfc_client_gets_and_uses_a_bound_token(
    http: httpx.AsyncClient, oauth_client: OAuthClient, admin: User, alg: str
) -> None:
    key = KEYS[alg]()
    issued = await http.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": admin.email,
            "password": PASSWORD,
            "client_id": oauth_client.client_id,
        },
        headers={"DPoP": proof(key, alg, "POST", TOKEN_URL)},
    )
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert body["token_type"] == "DPoP"
    token = body["access_token"]
    me = await http.get(
        "/api/v1/me",
        headers={"Authorization": f"DPoP {token}", "DPoP": proof(key, alg, "GET", ME_URL, token)},
    )
    assert me.status_code == 200, me.text
    # The token names the key by the thumbprint joserfc computes (RFC 7638).
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["cnf"]["jkt"] == key.thumbprint()
