"""deploy/nginx.conf in front of two ``cloudcx serve`` processes, driven over HTTPS.

The deployment of docs/deploy.md in small: TLS ends at nginx, both processes
share one database (SQLite here, or a new PostgreSQL database when
CLOUDCX_TEST_DATABASE_URL names one) and one secret key, and they believe
nginx's forwarded headers (CLOUDCX_TRUSTED_PROXIES=127.0.0.1). The guide's
flow must work through it as it does on one process: cookies marked Secure, the
issuer the address the client used, the client's address (not nginx's) in the
audit log, and both processes taking requests.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.databases import ddl, throwaway_database
from tests.deploy.proxy import CLIENT_ADDRESS, Proxy, nginx_binary, running_nginx
from tests.html_forms import find_form
from tests.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer, free_port, server_env, start

pytestmark = pytest.mark.slow

CLIENTS = "/settings/security/oauth-clients"
AUDIT_WAIT = 5.0  # token events are written in batches every 0.25 s


@pytest.fixture(autouse=True)
def _clean_database() -> None:
    """Replaces the suite's cleaner: this module uses the servers' own database."""


@pytest.fixture(scope="module")
def database_url() -> Iterator[str | None]:
    """A new PostgreSQL database when the suite runs on PostgreSQL; None for SQLite.

    CLOUDCX_TEST_NGINX_DATABASE_URL names a PostgreSQL database to use instead
    of creating one: it is emptied first, so it must belong to this test alone.
    """
    own = os.environ.get("CLOUDCX_TEST_NGINX_DATABASE_URL", "")
    if own:
        ddl(own, "DROP SCHEMA public CASCADE")
        ddl(own, "CREATE SCHEMA public")
        yield own
        return
    base = os.environ.get("CLOUDCX_TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        yield None
        return
    with throwaway_database(base, "cloudcx_nginx") as url:
        yield url


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory, database_url: str | None
) -> Iterator[list[LiveServer]]:
    nginx_binary()  # skip or fail before starting anything
    workdir = tmp_path_factory.mktemp("deploy")
    settings = {
        "CLOUDCX_VAR_DIR": str(workdir / "var"),
        "CLOUDCX_SECRET_KEY": secrets.token_urlsafe(48),
        "CLOUDCX_TRUSTED_PROXIES": "127.0.0.1",
    }
    if database_url:
        settings["CLOUDCX_DATABASE_URL"] = database_url
        # As docs/deploy.md says: the schema first, then the processes.
        subprocess.run(
            [sys.executable, "-m", "cloudcx", "db", "upgrade"], cwd=workdir, check=True,
            env=server_env(workdir / "var") | settings, capture_output=True, timeout=120,
        )  # fmt: skip
    started: list[LiveServer] = []
    try:
        for _ in range(2):
            started.append(start(workdir, settings=settings))
        yield started
    finally:
        for server in started:
            server.stop()


@pytest.fixture(scope="module")
def proxy(servers: list[LiveServer]) -> Iterator[Proxy]:
    upstreams = [f"127.0.0.1:{server.port}" for server in servers]
    with running_nginx(nginx_binary(), upstreams, free_port(), free_port()) as running:
        yield running


@pytest.fixture(scope="module")
def console(proxy: Proxy) -> Iterator[httpx.Client]:
    """The administrator signed in to the Control Panel through nginx."""
    with proxy.http(headers={"User-Agent": f"console-{uuid.uuid4()}"}) as http:
        _sign_in(http)  # the client keeps the cookies
        yield http


def _fields(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    data: dict[str, list[str]] = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    return data


def _sign_in(http: httpx.Client) -> httpx.Response:
    page = http.get("/login")
    form = find_form(page.text, button="Sign in")
    assert form is not None, page.text[:500]
    form.fill("Email", ADMIN_EMAIL)
    form.fill("Password", ADMIN_PASSWORD)
    signed_in = http.post(form.url(str(page.url)), data=_fields(form.submission("Sign in")))
    assert signed_in.status_code == 303, signed_in.text[:500]
    return signed_in


def _new_client(console: httpx.Client, name: str) -> str:
    """Global Settings > Security > OAuth Client > New OAuth Client > Save; its Client ID."""
    page = console.get(f"{CLIENTS}/new")
    form = find_form(page.text, button="Save")
    assert form is not None, page.text[:500]
    form.fill("Client name", name)
    form.fill("Description", "Reached through the load balancer")
    # The tests read the audit log: a new client starts without it, ticked on purpose.
    assert not form.is_checked("Read the security audit log")
    form.check("Read the security audit log")
    saved = console.post(form.url(str(page.url)), data=_fields(form.submission("Save")))
    assert saved.status_code == 303, saved.text[:500]
    rows = [row for row in console.get(CLIENTS).text.split("<tr") if f">{name}<" in row]
    assert len(rows) == 1
    found = re.search(r"<code>([A-Za-z0-9_-]{22,})</code>", rows[0])
    assert found, rows[0]
    return found.group(1)


def _password_token(
    http: httpx.Client, client_id: str, password: str = ADMIN_PASSWORD
) -> httpx.Response:
    return http.post(
        "/oauth/token",
        data={"email": ADMIN_EMAIL, "password": password, "grant_type": "password",
              "client_id": client_id},
    )  # fmt: skip


@pytest.fixture(scope="module")
def client_id(console: httpx.Client) -> str:
    return _new_client(console, "Through nginx")


@pytest.fixture(scope="module")
def token(proxy: Proxy, client_id: str) -> str:
    with proxy.http() as http:
        response = _password_token(http, client_id)
    assert response.status_code == 200, response.text
    value: str = response.json()["access_token"]
    return value


def _audit_events(proxy: Proxy, token: str, action: str, user_agent: str) -> list[dict[str, Any]]:
    """The events of ``action`` made by requests with ``user_agent``, waiting for the batch."""
    deadline = time.monotonic() + AUDIT_WAIT
    with proxy.http(headers={"Authorization": f"Bearer {token}"}) as http:
        while True:
            listed = http.get("/api/v1/audit-events", params={"action": action, "limit": 100})
            assert listed.status_code == 200, listed.text
            found = [e for e in listed.json()["data"] if e["user_agent"] == user_agent]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.1)


def test_signing_in_through_nginx_sets_secure_cookies(proxy: Proxy) -> None:
    with proxy.http() as http:
        signed_in = _sign_in(http)
    cookies = signed_in.headers.get_list("set-cookie")
    assert cookies, "signing in set no cookie"
    for cookie in cookies:
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
        assert {"secure", "httponly"} <= attributes, cookie
    assert signed_in.headers["strict-transport-security"].startswith("max-age=")


def test_signing_out_through_nginx_expires_the_secure_cookie(proxy: Proxy) -> None:
    with proxy.http() as http:
        _sign_in(http)  # the client keeps the cookies
        home = http.get("/")
        form = find_form(home.text, button="Sign out")
        assert form is not None, home.text[:500]
        signed_out = http.post(form.url(str(home.url)), data=_fields(form.submission("Sign out")))
        assert signed_out.status_code == 303
        cookies = signed_out.headers.get_list("set-cookie")
        assert any("Max-Age=0" in c for c in cookies), cookies
        assert all("Secure" in c for c in cookies), cookies
        assert http.get("/").status_code == 303  # the session is over: to /login


def test_the_guides_token_opens_the_api_with_the_address_the_client_used(
    proxy: Proxy, client_id: str
) -> None:
    with proxy.http() as http:
        metadata = http.get("/.well-known/oauth-authorization-server").json()
        assert metadata["issuer"] == proxy.base_url
        assert metadata["token_endpoint"] == f"{proxy.base_url}/oauth/token"
        issued = _password_token(http, client_id)
        assert issued.status_code == 200, issued.text
        token = issued.json()["access_token"]
        jwks = http.get("/.well-known/jwks.json").json()
        me = http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(jwt.PyJWK(k) for k in jwks["keys"] if k["kid"] == kid)
    claims = jwt.decode(
        token, key, algorithms=[key.algorithm_name], audience=f"{proxy.base_url}/api/v1",
        issuer=proxy.base_url,
    )  # fmt: skip
    assert claims["client_id"] == client_id
    assert me.status_code == 200, me.text
    assert me.json()["user"]["email"] == ADMIN_EMAIL


def test_the_audit_log_records_the_clients_address_not_nginxs(
    proxy: Proxy, client_id: str, token: str
) -> None:
    agent = f"audit-{uuid.uuid4()}"
    with proxy.http(headers={"User-Agent": agent}) as http:
        # A client naming its own address is not believed: nginx appends the real one.
        forged = {"X-Forwarded-For": "203.0.113.7"}
        assert _password_token(http, client_id).status_code == 200
        refused = http.post(
            "/oauth/token", headers=forged,
            data={"email": ADMIN_EMAIL, "password": "not-the-password", "grant_type": "password",
                  "client_id": client_id},
        )  # fmt: skip
        assert refused.status_code == 400
        assert refused.json()["error"] == "invalid_grant"
    issued = _audit_events(proxy, token, "token.issued", agent)
    failed = _audit_events(proxy, token, "token.refused", agent)
    assert [e["ip"] for e in issued] == [CLIENT_ADDRESS]
    assert [e["ip"] for e in failed] == [CLIENT_ADDRESS]


def test_the_sign_in_is_recorded_with_the_clients_address(proxy: Proxy, token: str) -> None:
    agent = f"signin-{uuid.uuid4()}"
    with proxy.http(headers={"User-Agent": agent}) as http:
        _sign_in(http)
    assert [e["ip"] for e in _audit_events(proxy, token, "signin.success", agent)] == [
        CLIENT_ADDRESS
    ]


def test_a_process_reached_directly_ignores_forwarded_headers(
    servers: list[LiveServer], client_id: str
) -> None:
    """Only nginx's address is trusted: a caller that goes around it cannot choose its address."""
    agent = f"direct-{uuid.uuid4()}"
    transport = httpx.HTTPTransport(local_address=CLIENT_ADDRESS)
    with httpx.Client(
        base_url=servers[0].base_url, transport=transport, trust_env=False,
        headers={"User-Agent": agent, "X-Forwarded-For": "203.0.113.7",
                 "X-Forwarded-Proto": "https"},
    ) as http:  # fmt: skip
        metadata = http.get("/.well-known/oauth-authorization-server").json()
        assert metadata["issuer"] == servers[0].base_url  # http, not the forged https
        assert _password_token(http, client_id).status_code == 200
    seen = _audit_events_direct(servers[0], agent, client_id)
    assert [e["ip"] for e in seen] == [CLIENT_ADDRESS]


def _audit_events_direct(server: LiveServer, agent: str, client_id: str) -> list[dict[str, Any]]:
    """token.issued events of ``agent``, read with a token issued at the process's own address."""
    with httpx.Client(base_url=server.base_url, trust_env=False) as http:
        issued = _password_token(http, client_id)
        assert issued.status_code == 200, issued.text
        bearer = {"Authorization": f"Bearer {issued.json()['access_token']}"}
        deadline = time.monotonic() + AUDIT_WAIT
        while True:
            listed = http.get(
                "/api/v1/audit-events", params={"action": "token.issued", "limit": 100},
                headers=bearer,
            )  # fmt: skip
            assert listed.status_code == 200, listed.text
            found = [e for e in listed.json()["data"] if e["user_agent"] == agent]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.1)


def test_requests_are_shared_by_both_processes(
    proxy: Proxy, servers: list[LiveServer], token: str
) -> None:
    ids = []
    with proxy.http(headers={"Authorization": f"Bearer {token}"}) as http:
        for _ in range(8):
            answer = http.get("/api/v1/me")
            assert answer.status_code == 200
            ids.append(answer.headers["X-Request-ID"])
    assert len(set(ids)) == 8
    time.sleep(0.3)  # access lines are written in batches after the answers
    logs = [server.log() for server in servers]
    # Each request is logged, with its id, by the one process that served it.
    assert all(sum(request_id in log for log in logs) == 1 for request_id in ids)
    served = [sum(request_id in log for request_id in ids) for log in logs]
    assert all(count > 0 for count in served), served


def test_the_host_the_client_asked_for_chooses_the_tenant(
    proxy: Proxy, servers: list[LiveServer], token: str
) -> None:
    servers[0].cli(
        "tenant", "create", "--name", "Acme", "--domain", "cx.acme.test",
        "--admin-email", "admin@acme.example", "--admin-password", "Acme-admin-passw0rd-long",
    )  # fmt: skip
    acme = f"cx.acme.test:{proxy.https_port}"
    with proxy.http() as http:
        metadata = http.get("/.well-known/oauth-authorization-server", headers={"Host": acme})
        unknown = http.get(
            "/.well-known/oauth-authorization-server", headers={"Host": "other.test"}
        )
        other_tenant = http.get(
            "/api/v1/me", headers={"Host": acme, "Authorization": f"Bearer {token}"}
        )
    assert metadata.status_code == 200, metadata.text
    assert metadata.json()["issuer"] == f"https://{acme}"
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "No tenant is served at this host."
    assert other_tenant.status_code == 401


def test_plain_http_is_sent_to_https(proxy: Proxy) -> None:
    with httpx.Client(trust_env=False) as http:
        answer = http.get(f"http://127.0.0.1:{proxy.http_port}/login?next=%2F")
    assert answer.status_code == 301
    assert answer.headers["location"] == "https://127.0.0.1/login?next=%2F"


@pytest.mark.parametrize(
    ("required", "outcome"),
    [("1", pytest.fail.Exception), ("", pytest.skip.Exception)],
    ids=["required-fails", "optional-skips"],
)
def test_a_missing_nginx_skips_unless_required(
    tmp_path: Path, required: str, outcome: type[BaseException]
) -> None:
    environ = {"CLOUDCX_NGINX": str(tmp_path / "no-nginx"), "CLOUDCX_REQUIRE_NGINX": required}
    with pytest.raises(outcome, match="nginx is not installed"):
        nginx_binary(environ)
