"""Request ids, the one access line per request, and what it must never contain."""

from __future__ import annotations

import io
import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from cloudcx import errors
from cloudcx.accounts.models import User
from cloudcx.oauth.models import OAuthClient
from cloudcx.ops import requests as requests_module
from cloudcx.ops import wiring
from cloudcx.ops.logs import JsonFormatter, TextFormatter
from cloudcx.ops.requests import FinishedRequests, RequestMiddleware
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from tests import helpers

GENERATED_ID = re.compile(r"^[0-9a-f]{12}-[0-9a-f]+$")


def request_middleware(app: FastAPI) -> RequestMiddleware:
    node: Any = app.middleware_stack
    if node is None:
        app.middleware_stack = node = app.build_middleware_stack()
    while not isinstance(node, RequestMiddleware):
        node = node.app
    return node


def access_lines(app: FastAPI, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The access lines written since the last call, parsed."""
    request_middleware(app).finished.flush()
    err = capsys.readouterr().err
    return [orjson.loads(line) for line in err.splitlines() if '"cloudcx.access"' in line]


@pytest.fixture(autouse=True)
def json_lines(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    """The session's app writes JSON lines in these tests, whatever a test changes."""
    monkeypatch.setattr(request_middleware(app).finished, "format", FinishedRequests("json").format)


@pytest.fixture
def app_log() -> Iterator[io.StringIO]:
    """Every record of every logger, formatted as JSON when it is emitted."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    saved = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(saved)


async def test_every_answer_carries_a_fresh_request_id(
    http: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    first, second = await http.get("/healthz"), await http.get("/api/v1/me")
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(GENERATED_ID.match(i) for i in ids)
    assert ids[0] != ids[1]


async def test_unknown_host_answer_has_an_id_too(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://nowhere.example") as c:
        response = await c.get("/api/v1/me")
    assert response.status_code == 404
    assert GENERATED_ID.match(response.headers["x-request-id"])


@pytest.mark.parametrize(
    ("trusted", "sent", "kept"),
    [
        (False, "from-the-client-123", False),
        (True, "lb-7f3a.9c:01_X", True),
        (True, "x" * 129, False),
        (True, "has space", False),
        (True, "semi;colon", False),
        (True, "", False),
    ],
    ids=["untrusted-peer", "trusted-sane", "too-long", "space", "bad-char", "empty"],
)
async def test_an_incoming_id_is_kept_only_from_a_trusted_proxy_and_only_if_sane(
    app: FastAPI,
    http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    trusted: bool,
    sent: str,
    kept: bool,
) -> None:
    if trusted:
        monkeypatch.setattr(request_middleware(app), "trusted", frozenset({"203.0.113.7"}))
    response = await http.get("/healthz", headers={"X-Request-ID": sent})
    answered = response.headers["x-request-id"]
    assert (answered == sent) is kept
    if not kept:
        assert GENERATED_ID.match(answered)


async def test_one_access_line_per_request_with_its_fields(
    app: FastAPI, http: httpx.AsyncClient, tenant: TenantInfo, capsys: pytest.CaptureFixture[str]
) -> None:
    access_lines(app, capsys)
    ticket = uuid.uuid4()
    responses = [
        await http.get(f"/api/v1/tickets/{ticket}?code=abc&state=xyz"),
        await http.get("/healthz"),
    ]
    first, second = access_lines(app, capsys)
    assert first["request_id"] == responses[0].headers["x-request-id"]
    assert second["request_id"] == responses[1].headers["x-request-id"]
    assert first["logger"] == "cloudcx.access"
    assert first["level"] == "info"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", first["time"])
    assert first["method"] == "GET"
    assert first["route"] == "/api/v1/tickets/{ticket_id}"
    assert first["path"] == f"/api/v1/tickets/{ticket}"  # without its query string
    assert first["status"] == 401
    assert isinstance(first["duration_ms"], float)
    assert first["duration_ms"] >= 0
    assert first["client"] == "203.0.113.7"
    assert first["host"] == "localhost"


async def test_control_characters_in_a_path_cannot_start_a_new_line(
    app: FastAPI,
    http: httpx.AsyncClient,
    tenant: TenantInfo,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    access_lines(app, capsys)
    await http.get("/a%0A%7B%22forged%22%3A1%7D")
    middleware = request_middleware(app)
    monkeypatch.setattr(middleware.finished, "format", FinishedRequests("text").format)
    middleware.finished.flush()
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "cloudcx.access" in line]
    assert len(lines) == 1
    assert '/a\\n{"forged":1}' in lines[0]


async def test_secrets_never_reach_the_logs(
    app: FastAPI,
    http: httpx.AsyncClient,
    oauth_client: OAuthClient,
    admin: User,
    capsys: pytest.CaptureFixture[str],
    app_log: io.StringIO,
) -> None:
    token = (await helpers.password_token(http, oauth_client.client_id, admin.email))[
        "access_token"
    ]
    wrong_password = "Not-the-Passw0rd-4711"
    code = "SpLoOgE-code-9c1e7"
    await http.get("/api/v1/me", headers=helpers.bearer(token))
    await http.get("/api/v1/me", headers=helpers.bearer(token + "x"))
    form = helpers.password_form(client_id=oauth_client.client_id, password=wrong_password)
    assert (await http.post("/oauth/token", data=form)).status_code == 400
    await http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": oauth_client.client_id,
            "redirect_uri": "https://app.example/cb",
        },
    )
    await http.get(f"/oauth/authorize?code={code}&access_token={token}")
    await http.get(f"/console/callback?code={code}")
    await helpers.login(http, admin.email, wrong_password)
    access = access_lines(app, capsys)
    assert len(access) >= 7
    server_side = [
        line for line in app_log.getvalue().splitlines() if '"logger":"httpx"' not in line
    ]  # httpx logs the test's own requests, as a client would
    everything = "\n".join(server_side) + str(access)
    for secret in (token, helpers.PASSWORD, wrong_password, code):
        assert secret not in everything


def boom_app() -> FastAPI:
    app = FastAPI()
    log = logging.getLogger("cloudcx.test")

    @app.get("/api/hello")
    async def hello() -> dict[str, str]:
        log.warning("hello from the app")
        return {"ok": "yes"}

    @app.get("/api/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    app.add_exception_handler(Exception, errors.server_error)
    app.add_middleware(RequestMiddleware, trusted_proxies=frozenset())
    return app


def records(stream: io.StringIO, message: str) -> list[dict[str, Any]]:
    found = [orjson.loads(line) for line in stream.getvalue().splitlines() if line]
    return [r for r in found if message in r["message"]]


async def test_application_log_lines_carry_the_request_id(app_log: io.StringIO) -> None:
    transport = httpx.ASGITransport(app=boom_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        response = await client.get("/api/hello")
    [line] = records(app_log, "hello from the app")
    assert line["request_id"] == response.headers["x-request-id"]
    assert line["level"] == "warning"
    assert line["logger"] == "cloudcx.test"


async def test_an_unhandled_error_answers_500_with_the_id_and_logs_it(
    app_log: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    app = boom_app()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        response = await client.get("/api/boom")
    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    [line] = records(app_log, "unhandled error on GET /api/boom")
    assert line["request_id"] == request_id
    assert "RuntimeError: boom" in line["exception"]
    [access] = access_lines(app, capsys)
    assert (access["request_id"], access["status"], access["route"]) == (
        request_id,
        500,
        "/api/boom",
    )


def test_text_lines_for_a_terminal() -> None:
    record = logging.LogRecord("cloudcx.x", logging.ERROR, __file__, 1, "went %s", ("wrong",), None)
    record.request_id = "abc-1"
    line = TextFormatter().format(record)
    assert re.match(r"^\d{4}-\d\d-\d\dT[\d:.]+Z ERROR   \[abc-1\] cloudcx\.x: went wrong$", line)
    fields = {
        "request_id": "abc-2",
        "method": "GET",
        "route": "/healthz",
        "path": "/healthz",
        "status": 200,
        "duration_ms": 0.25,
        "client": "127.0.0.1",
        "host": "localhost",
    }
    text = FinishedRequests("text").format(1_700_000_000.5, fields)
    assert text == (
        "2023-11-14T22:13:20.500Z INFO    [abc-2] cloudcx.access: GET /healthz 200 0.2ms "
        "client=127.0.0.1 host=localhost"
    )


async def test_access_lines_obey_the_access_logger_level(
    app: FastAPI, http: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    access_lines(app, capsys)
    logger = logging.getLogger("cloudcx.access")
    saved = logger.level
    logger.setLevel(logging.WARNING)
    try:
        await http.get("/healthz")
        assert access_lines(app, capsys) == []
    finally:
        logger.setLevel(saved)


async def test_lines_still_queued_are_written_when_the_app_stops(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(requests_module, "FLUSH_DELAY", 3600.0)
    app = FastAPI()
    wiring.install(app, platform)
    capsys.readouterr()
    async with wiring.running(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
            response = await client.get("/healthz")
        assert "cloudcx.access" not in capsys.readouterr().err
    err = capsys.readouterr().err
    assert response.headers["x-request-id"] in err
