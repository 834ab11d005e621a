"""A tiny third-party web application, and what it needs to use the authorization server.

The app listens on a free port of 127.0.0.1; its redirect URI
``http://127.0.0.1:<port>/callback`` records the query the authorization
server sends the browser back with, and shows a page saying so.
"""

from __future__ import annotations

import base64
import hashlib
import queue
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest

from tests.live_server import LiveServer

CALLBACK_TIMEOUT = 10.0
# DESIGN.md §4: a revocation reaches every process within about a second.
REVOCATION_DEADLINE = 2.5
METADATA_PATH = "/.well-known/oauth-authorization-server"
APP_PAGE = (
    b"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Test App</title>"
    b"</head><body><h1>Test App</h1><p>Back from CloudCX.</p></body></html>"
)


class CallbackApp:
    def __init__(self) -> None:
        self.received: queue.Queue[dict[str, str]] = queue.Queue()
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != "/callback":
                    self.send_response(204)  # e.g. the browser's /favicon.ico
                    self.end_headers()
                    return
                app.received.put(dict(parse_qsl(parts.query)))
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(APP_PAGE)))
                self.end_headers()
                self.wfile.write(APP_PAGE)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port: int = self.server.server_address[1]
        self.redirect_uri = f"http://127.0.0.1:{self.port}/callback"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CallbackApp:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def poll(self) -> dict[str, str] | None:
        try:
            return self.received.get_nowait()
        except queue.Empty:
            return None

    def next_callback(self, timeout: float = CALLBACK_TIMEOUT) -> dict[str, str]:
        try:
            return self.received.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the app's redirect URI was not called in {timeout}s") from None


def pkce_pair() -> tuple[str, str]:
    """RFC 7636 §4.1-4.2: a code_verifier and its S256 code_challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_request(
    authorization_endpoint: str, client_id: str, redirect_uri: str, scope: str
) -> tuple[str, str, str]:
    """RFC 6749 §4.1.1 with PKCE S256: the URL to send the browser to, its state, verifier."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{authorization_endpoint}?{query}", state, verifier


def metadata_or_skip(server: LiveServer) -> dict[str, Any]:
    """RFC 8414 metadata; skip the test while this build answers 404 for it."""
    with server.http() as http:
        response = http.get(METADATA_PATH)
    if response.status_code == 404:
        pytest.skip(
            f"GET {METADATA_PATH} answers 404: this build has no authorization-code flow yet"
        )
    assert response.status_code == 200, response.text
    metadata: dict[str, Any] = response.json()
    return metadata


def api_status(server: LiveServer, access_token: str) -> int:
    with server.http() as http:
        headers = {"Authorization": f"Bearer {access_token}"}
        return http.get("/api/v1/me", headers=headers).status_code


def assert_refused_soon(server: LiveServer, access_token: str) -> float:
    """The API refuses the token within REVOCATION_DEADLINE seconds; how long it took."""
    start = time.monotonic()
    while time.monotonic() - start < REVOCATION_DEADLINE:
        if api_status(server, access_token) == 401:
            return time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError(f"the API still accepts the token after {REVOCATION_DEADLINE}s")


def token_request(server: LiveServer, url: str, **form: str) -> httpx.Response:
    with server.http() as http:
        return http.post(url, data=form)
