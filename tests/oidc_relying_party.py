"""A tiny relying party: "Sign in with CloudCX" through Authlib's OpenID Connect client.

``CloudCXOpenID`` is Authlib's framework-neutral client (the one its Flask,
Django and Starlette integrations build on): it reads the server from
``/.well-known/openid-configuration``, sends ``nonce`` and PKCE, and validates
the ID token (signature from the JWKS, ``iss``, ``aud``, ``exp``, ``nonce``,
``at_hash``) in ``parse_id_token``. ``RelyingPartyApp`` is a web app on a free
port of 127.0.0.1 with a "Sign in with CloudCX" button, for browser tests.
"""

from __future__ import annotations

import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from authlib.integrations.base_client import BaseApp, OAuth2Mixin, OpenIDMixin
from authlib.integrations.requests_client import OAuth2Session

DISCOVERY_PATH = "/.well-known/openid-configuration"
# What a page handler answers: status, headers, body.
Answer = tuple[int, dict[str, str], bytes]
SCOPE = "openid profile email"


class _NoFramework:
    """Authlib asks its framework to keep refreshed tokens; this app keeps none."""

    def update_token(self, *args: Any, **kwargs: Any) -> None:
        pass


class CloudCXOpenID(OAuth2Mixin, OpenIDMixin, BaseApp):  # type: ignore[misc]
    client_cls = OAuth2Session

    def __init__(self, base_url: str, client_id: str, scope: str = SCOPE) -> None:
        super().__init__(
            _NoFramework(),
            name="cloudcx",
            client_id=client_id,
            server_metadata_url=base_url + DISCOVERY_PATH,
            client_kwargs={
                "scope": scope,
                "code_challenge_method": "S256",
                "token_endpoint_auth_method": "none",
                "timeout": 10,
            },
        )

    # Straight to 127.0.0.1: no proxy from the environment.
    def _get_session(self) -> OAuth2Session:
        session: OAuth2Session = super()._get_session()
        session.trust_env = False
        return session

    def _get_oauth_client(self, **metadata: Any) -> OAuth2Session:
        session: OAuth2Session = super()._get_oauth_client(**metadata)
        session.trust_env = False
        return session


def _page(title: str, body: str) -> bytes:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
    ).encode()


class RelyingPartyApp:
    """Example Notes, an app whose users sign in with CloudCX.

    ``/`` has the button; ``/login`` starts the code flow; ``/callback`` validates
    the ID token, reads ``/userinfo`` and greets the user by name; ``/logout``
    sends the browser to CloudCX's end_session_endpoint and back to ``/bye``.
    """

    def __init__(self, base_url: str, client_id: str = "") -> None:
        # The client is registered once the app's port (its redirect URI) is known.
        self.oidc = CloudCXOpenID(base_url, client_id)
        self.pending: dict[str, dict[str, Any]] = {}
        self.signed_in: dict[str, Any] = {}
        self.errors: list[str] = []
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query))
                route = {
                    "/": app.home,
                    "/login": app.login,
                    "/callback": app.callback,
                    "/logout": app.logout,
                    "/bye": app.bye,
                }.get(parts.path)
                if route is None:
                    self.send_response(204)
                    self.end_headers()
                    return
                try:
                    status, headers, body = route(query)
                except Exception as exc:  # shown to the test, never swallowed
                    app.errors.append(repr(exc))
                    status, headers, body = 500, {}, _page("Error", html.escape(repr(exc)))
                self.send_response(status)
                for name, value in {"Content-Type": "text/html; charset=utf-8", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.redirect_uri = self.base_url + "/callback"
        self.post_logout_redirect_uri = self.base_url + "/bye"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> RelyingPartyApp:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def home(self, query: dict[str, str]) -> Answer:
        button = "<form action='/login'><button type='submit'>Sign in with CloudCX</button></form>"
        return 200, {}, _page("Example Notes", button)

    def login(self, query: dict[str, str]) -> Answer:
        started = self.oidc.create_authorization_url(redirect_uri=self.redirect_uri)
        self.pending[started["state"]] = started
        return 302, {"Location": started["url"]}, b""

    def callback(self, query: dict[str, str]) -> Answer:
        started = self.pending.pop(query.get("state", ""), None)
        if started is None or "code" not in query:
            return 400, {}, _page("Sign-in failed", html.escape(str(query)))
        token = self.oidc.fetch_access_token(
            redirect_uri=self.redirect_uri,
            code=query["code"],
            code_verifier=started["code_verifier"],
        )
        claims = self.oidc.parse_id_token(token, nonce=started["nonce"])
        info = self.oidc.userinfo(token=token)
        if info["sub"] != claims["sub"]:
            raise AssertionError("userinfo is about someone else")  # Core §5.3.2
        self.signed_in = {"token": token, "claims": dict(claims), "userinfo": dict(info)}
        greeting = (
            f"<p id='greeting'>Hello, {html.escape(info['name'])}</p>"
            f"<p id='email'>{html.escape(info['email'])}</p>"
            "<p><a href='/logout'>Sign out</a></p>"
        )
        return 200, {}, _page("Example Notes", greeting)

    def logout(self, query: dict[str, str]) -> Answer:
        token = self.signed_in.get("token", {})
        out = self.oidc.create_logout_url(
            post_logout_redirect_uri=self.post_logout_redirect_uri,
            id_token_hint=token.get("id_token"),
        )
        self.pending[out["state"]] = {"logout": True}
        return 302, {"Location": out["url"]}, b""

    def bye(self, query: dict[str, str]) -> Answer:
        if self.pending.pop(query.get("state", ""), None) is None:
            return 400, {}, _page("Unexpected sign-out", "")
        self.signed_in = {}
        return 200, {}, _page("Signed out of Example Notes", "<p id='bye'>See you soon.</p>")
