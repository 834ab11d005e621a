"""panva's openid-client (Node.js), a strict relying party, against a real server.

``openid_client/relying_party.mjs`` discovers the server from
``/.well-known/openid-configuration``, sends the person through the code flow
with PKCE, a nonce and a state (pushed first with PAR when asked), and lets
the library validate everything it validates: the authorization response's
``iss`` (RFC 9207), the ID token's signature against the JWKS, its ``iss``,
``aud``, ``exp``, ``nonce`` and ``at_hash``, the userinfo ``sub``, and with
DPoP (RFC 9449) the binding of each token response. The test then asserts
what the library saw, and follows the logout URL it built.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.integrations.node import HERE, node_environment, node_package
from tests.integrations.people import Administrator, Person
from tests.live_server import LiveServer
from tests.oauth_app import CallbackApp

pytestmark = pytest.mark.slow

FOLDER = HERE / "openid_client"
STEP_TIMEOUT = 30
SCOPE = "openid profile email tickets:read"


@pytest.fixture(scope="module")
def _openid_client() -> None:
    node_package(FOLDER, "openid-client")


class RelyingParty:
    """One run of relying_party.mjs: it asks for the person's visit, then reports."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.process = subprocess.Popen(
            ["node", str(FOLDER / "relying_party.mjs"), json.dumps(config)],
            env=node_environment(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=STEP_TIMEOUT)
            assert self.process.stderr is not None
            raise AssertionError(f"openid-client stopped: {self.process.stderr.read()[-4000:]}")
        message: dict[str, Any] = json.loads(line)
        assert "error" not in message, f"openid-client refused: {message['error']}"
        return message

    def answer(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=STEP_TIMEOUT)


def sign_in_with(person: Person, config: dict[str, Any]) -> dict[str, Any]:
    """The whole relying-party run; what the library reported."""
    rp = RelyingParty(config)
    try:
        authorize = rp.read()["authorize"]
        rp.answer(person.visit(authorize))
        result: dict[str, Any] = rp.read()["result"]
        assert rp.process.wait(timeout=STEP_TIMEOUT) == 0
        return result
    finally:
        rp.close()


@pytest.fixture
def logout_app() -> Iterator[CallbackApp]:
    """Where the relying party asks to be sent back after logout."""
    with CallbackApp() as app:
        yield app


def register(
    admin: Administrator,
    client_id: str,
    callback: CallbackApp,
    logout: CallbackApp,
    *,
    require_dpop: bool = False,
    require_par: bool = False,
) -> None:
    """The client's Action > Edit page: the code flow, the OpenID scopes, logout."""
    admin.allow_code_flow(client_id, callback.redirect_uri)
    page = admin.edit_page(client_id)
    form = admin.settings_form(page)
    for scope in ("openid Sign you in", "profile See", "email See", "tickets:read"):
        form.check(scope)
    form.fill("Post-logout URIs", logout.redirect_uri)
    form.check("Require DPoP", require_dpop)
    form.check("Require pushed authorization requests", require_par)
    saved = admin.submit(form, "Save", page)
    assert saved.is_redirect, f"Save was refused: {saved.text[:1000]}"


def assert_signed_in(result: dict[str, Any], server: LiveServer, client_id: str) -> None:
    claims = result["claims"]
    assert claims["iss"] == server.base_url
    assert claims["aud"] == client_id or claims["aud"] == [client_id]
    # The ID token names the sign-in; the profile and email claims come from userinfo.
    assert {"sub", "auth_time", "sid", "nonce", "at_hash", "azp"} <= set(claims)
    assert result["userinfo"]["email"] == "agent@example.com"
    assert result["userinfo"]["sub"] == claims["sub"]
    assert result["userinfo"]["name"] == "Avery Agent"
    assert result["me"]["status"] == 200
    assert result["me"]["body"]["user"]["email"] == "agent@example.com"
    # Refresh rotates the refresh token and, with openid, brings a fresh ID token.
    assert result["refreshed"]["rotated"] is True
    assert result["refreshed"]["claims"]["sub"] == claims["sub"]


def assert_logout_returns(person: Person, result: dict[str, Any], logout: CallbackApp) -> None:
    back = person.visit(result["end_session"], decision="Sign out")
    assert back.startswith(logout.redirect_uri), back
    assert dict(parse_qsl(urlsplit(back).query)) == {"state": "signed-out-state"}


@pytest.mark.usefixtures("_openid_client")
def test_confidential_client_signs_in_through_par(
    live_server: LiveServer,
    admin: Administrator,
    person: Person,
    callback_app: CallbackApp,
    logout_app: CallbackApp,
) -> None:
    client_id = live_server.create_client(
        f"Help Desk Sync {uuid.uuid4().hex[:6]}", "Syncs tickets."
    )
    register(admin, client_id, callback_app, logout_app, require_par=True)
    secret = admin.generate_client_secret(client_id)
    result = sign_in_with(
        person,
        {
            "issuer": live_server.base_url,
            "client_id": client_id,
            "client_secret": secret,
            "redirect_uri": callback_app.redirect_uri,
            "post_logout_redirect_uri": logout_app.redirect_uri,
            "scope": SCOPE,
            "dpop": False,
            "par": True,
        },
    )
    assert result["token_type"].lower() == "bearer"
    assert_signed_in(result, live_server, client_id)
    assert result["as_bearer"]["status"] == 200
    assert_logout_returns(person, result, logout_app)


@pytest.mark.usefixtures("_openid_client")
def test_public_client_holds_dpop_bound_tokens(
    live_server: LiveServer,
    admin: Administrator,
    person: Person,
    callback_app: CallbackApp,
    logout_app: CallbackApp,
) -> None:
    client_id = live_server.create_client(f"Mobile Inbox {uuid.uuid4().hex[:6]}", "On the go.")
    register(admin, client_id, callback_app, logout_app, require_dpop=True)
    result = sign_in_with(
        person,
        {
            "issuer": live_server.base_url,
            "client_id": client_id,
            "redirect_uri": callback_app.redirect_uri,
            "post_logout_redirect_uri": logout_app.redirect_uri,
            "scope": SCOPE,
            "dpop": True,
            "par": False,
        },
    )
    assert result["token_type"].lower() == "dpop"
    assert result["refreshed"]["token_type"].lower() == "dpop"
    assert_signed_in(result, live_server, client_id)
    # Without the key the token is worthless: presented as Bearer, it is refused.
    assert result["as_bearer"]["status"] == 401
    assert "invalid_token" in result["as_bearer"]["www_authenticate"]
    assert_logout_returns(person, result, logout_app)
