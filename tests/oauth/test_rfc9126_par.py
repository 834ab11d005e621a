"""RFC 9126: pushed authorization requests, at /oauth/par and at the authorization endpoint."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cloudcx.accounts.models import User
from cloudcx.api.ratelimit import RateLimiter
from cloudcx.app import create_app
from cloudcx.audit.models import AuditEvent
from cloudcx.audit.service import Action
from cloudcx.config import Settings
from cloudcx.core import secrets
from cloudcx.db import utcnow
from cloudcx.oauth import housekeeping
from cloudcx.oauth.models import OAuthClient, PushedAuthorizationRequest
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from tests.helpers import csrf_from, login
from tests.oauth.flows import (
    REDIRECT_URI,
    SECRET,
    VERIFIER,
    assert_oauth_error,
    authorize_params,
    configure,
    exchange,
    query_of,
)

URN = "urn:ietf:params:oauth:request_uri:"
_HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')

pytestmark = pytest.mark.usefixtures("admin")


@pytest.fixture
async def client(db: AsyncSession, oauth_client: OAuthClient) -> OAuthClient:
    """A confidential client allowed the code flow."""
    return await configure(db, oauth_client, confidential=True)


@pytest.fixture
async def public(db: AsyncSession, tenant: TenantInfo) -> OAuthClient:
    from cloudcx.oauth import clients

    created = await clients.create_client(db, tenant_id=tenant.id, client_name="Mobile App")
    await db.commit()
    return await configure(db, created)


def basic(client_id: str, secret: str = SECRET) -> dict[str, str]:
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def push(
    http: httpx.AsyncClient,
    client: OAuthClient,
    headers: dict[str, str] | None = None,
    **overrides: str | None,
) -> httpx.Response:
    """POST the usual authorization request to /oauth/par, authenticated with Basic."""
    data = authorize_params(client, **{"scope": "tickets:read profile", **overrides})
    if headers is None:
        headers = basic(client.client_id) if client.secret_digest else {}
    return await http.post("/oauth/par", data=data, headers=headers)


async def pushed_uri(http: httpx.AsyncClient, client: OAuthClient, **overrides: str | None) -> str:
    response = await push(http, client, **overrides)
    assert response.status_code == 201, response.text
    request_uri: str = response.json()["request_uri"]
    return request_uri


async def exchange_confidential(
    http: httpx.AsyncClient, client: OAuthClient, code: str
) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": VERIFIER,
    }
    return await http.post("/oauth/token", data=data, headers=basic(client.client_id))


def hidden_fields(html: str) -> dict[str, str]:
    return dict(_HIDDEN_RE.findall(html))


async def consent_page(
    http: httpx.AsyncClient, client: OAuthClient, request_uri: str, **extra: str
) -> httpx.Response:
    params = {"client_id": client.client_id, "request_uri": request_uri, **extra}
    return await http.get("/oauth/authorize", params=params)


async def answer(
    http: httpx.AsyncClient, page: httpx.Response, decision: str = "allow"
) -> httpx.Response:
    """Press Allow or Deny on a consent page: post back exactly its hidden fields."""
    assert page.status_code == 200, page.text
    form = {**hidden_fields(page.text), "decision": decision}
    return await http.post("/oauth/authorize", data=form)


def assert_unusable(response: httpx.Response) -> None:
    """§4: no redirect (no redirect URI can be trusted), an error page instead."""
    assert response.status_code == 400, response.text
    assert "location" not in response.headers
    assert "This sign-in request has expired" in response.text
    assert response.headers["cache-control"] == "no-store"


@pytest.fixture
async def signed_in(http: httpx.AsyncClient, admin: User) -> User:
    await login(http, admin.email)
    return admin


# --- The PAR endpoint (§2) ------------------------------------------------------------


async def test_confidential_client_pushes_and_gets_a_request_uri(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient
) -> None:
    response = await push(http, client)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"request_uri", "expires_in"}
    assert body["expires_in"] == 60
    assert body["request_uri"].startswith(URN)
    reference = body["request_uri"].removeprefix(URN)
    assert len(reference) >= 43  # 256 bits, base64url
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["ratelimit-limit"] == "300"
    row = (await db.scalars(select(PushedAuthorizationRequest))).one()
    # Only the digest is stored, as codes are.
    assert row.request_digest == secrets.digest(reference)
    assert reference not in str(row.params)
    assert row.client_pk == client.id and row.tenant_id == client.tenant_id
    assert row.params["state"] == "xyz-state" and row.params["scope"] == "tickets:read profile"
    assert "client_secret" not in row.params
    lifetime = row.expires_at - utcnow()
    assert timedelta(seconds=55) < lifetime <= timedelta(seconds=60)


async def test_every_push_gets_its_own_request_uri(
    http: httpx.AsyncClient, client: OAuthClient
) -> None:
    assert await pushed_uri(http, client) != await pushed_uri(http, client)


async def test_client_secret_post_is_accepted_and_not_stored(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient
) -> None:
    response = await push(http, client, headers={}, client_secret=SECRET)
    assert response.status_code == 201, response.text
    row = (await db.scalars(select(PushedAuthorizationRequest))).one()
    assert "client_secret" not in row.params


async def test_basic_client_may_leave_client_id_out_of_the_body(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient
) -> None:
    response = await push(http, client, client_id=None)
    assert response.status_code == 201, response.text
    row = (await db.scalars(select(PushedAuthorizationRequest))).one()
    assert row.params["client_id"] == client.client_id


@pytest.mark.parametrize(
    ("headers", "body", "status", "error", "challenge"),
    [
        ({"basic_secret": "wrong-secret"}, {}, 401, "invalid_client", True),
        ({}, {"client_secret": "wrong-secret"}, 401, "invalid_client", False),
        ({}, {}, 401, "invalid_client", False),
        ({"basic_id": "no-such-client"}, {"client_id": None}, 401, "invalid_client", True),
        ({"scheme": "Bearer abc"}, {}, 401, "invalid_client", True),
        ({"scheme": "Basic !!!"}, {}, 401, "invalid_client", True),
        ({"basic_secret": SECRET}, {"client_secret": SECRET}, 400, "invalid_request", False),
        ({"basic_secret": SECRET}, {"client_id": "someone-else"}, 400, "invalid_request", False),
    ],
    ids=[
        "basic-wrong-secret",
        "post-wrong-secret",
        "confidential-without-secret",
        "unknown-client",
        "not-basic-scheme",
        "malformed-basic",
        "two-authentication-methods",
        "body-client_id-differs-from-basic",
    ],
)
async def test_client_authentication_failures(
    http: httpx.AsyncClient,
    db: AsyncSession,
    client: OAuthClient,
    headers: dict[str, str],
    body: dict[str, str | None],
    status: int,
    error: str,
    challenge: bool,
) -> None:
    """§2.1: the client authenticates as at the token endpoint (RFC 6749 §2.3, §5.2)."""
    sent: dict[str, str] = {}
    if "scheme" in headers:
        sent = {"Authorization": headers["scheme"]}
    elif headers:
        sent = basic(headers.get("basic_id", client.client_id), headers.get("basic_secret", SECRET))
    response = await push(http, client, headers=sent, **body)
    assert_oauth_error(response, status, error)
    assert ("www-authenticate" in response.headers) is challenge
    if challenge:
        assert response.headers["www-authenticate"].startswith("Basic")
    assert (await db.scalars(select(PushedAuthorizationRequest))).first() is None


async def test_disabled_client_is_refused(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient
) -> None:
    await configure(db, client, is_enabled=False)
    assert_oauth_error(await push(http, client), 401, "invalid_client")


async def test_secret_sent_for_a_public_client_is_refused(
    http: httpx.AsyncClient, public: OAuthClient
) -> None:
    response = await push(http, public, headers={}, client_secret="anything-at-all")
    assert_oauth_error(response, 401, "invalid_client")


async def test_public_client_with_pkce_may_push(
    http: httpx.AsyncClient, public: OAuthClient
) -> None:
    response = await push(http, public)
    assert response.status_code == 201, response.text


async def test_public_client_without_pkce_is_refused(
    http: httpx.AsyncClient, db: AsyncSession, public: OAuthClient
) -> None:
    response = await push(http, public, code_challenge=None, code_challenge_method=None)
    assert_oauth_error(response, 400, "invalid_request")
    assert "PKCE" in response.json()["error_description"]
    assert (await db.scalars(select(PushedAuthorizationRequest))).first() is None


async def test_confidential_client_may_push_without_pkce(
    http: httpx.AsyncClient, client: OAuthClient
) -> None:
    response = await push(http, client, code_challenge=None, code_challenge_method=None)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"request_uri": URN + "x" * 43}, "invalid_request"),
        ({"response_type": None}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "tickets:read no-such-scope"}, "invalid_scope"),
        ({"scope": "audit:read"}, "invalid_scope"),
        ({"redirect_uri": "https://evil.example/callback"}, "invalid_request"),
        ({"redirect_uri": REDIRECT_URI + "/more"}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"state": "s" * 2001}, "invalid_request"),
    ],
    ids=[
        "request_uri-inside-a-pushed-request",
        "no-response_type",
        "implicit-response_type",
        "unknown-scope",
        "scope-not-allowed-to-the-client",
        "unregistered-redirect_uri",
        "redirect_uri-not-exactly-registered",
        "pkce-plain",
        "malformed-code_challenge",
        "parameter-too-long",
    ],
)
async def test_invalid_requests_are_refused_early(
    http: httpx.AsyncClient,
    db: AsyncSession,
    client: OAuthClient,
    overrides: dict[str, str | None],
    error: str,
) -> None:
    """§2.1: the request is validated as the authorization endpoint would; §2.3 errors."""
    await configure(db, client, scopes=["tickets:read", "profile"])
    response = await push(http, client, **overrides)
    assert_oauth_error(response, 400, error)
    assert response.json()["error_description"]
    assert (await db.scalars(select(PushedAuthorizationRequest))).first() is None


async def test_redirect_uri_may_be_left_out_when_only_one_is_registered(
    http: httpx.AsyncClient, client: OAuthClient
) -> None:
    response = await push(http, client, redirect_uri=None)
    assert response.status_code == 201, response.text


async def test_client_without_the_code_grant_is_unauthorized(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient
) -> None:
    await configure(db, client, grant_types=["client_credentials"])
    assert_oauth_error(await push(http, client), 400, "unauthorized_client")


async def test_repeated_parameter_and_wrong_content_type_are_invalid(
    http: httpx.AsyncClient, client: OAuthClient
) -> None:
    content = "response_type=code&scope=profile&scope=tickets%3Aread"
    response = await http.post(
        "/oauth/par",
        content=content,
        headers={**basic(client.client_id), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_oauth_error(response, 400, "invalid_request")
    response = await http.post(
        "/oauth/par", json=authorize_params(client), headers=basic(client.client_id)
    )
    assert_oauth_error(response, 400, "invalid_request")


async def test_only_post_is_allowed(http: httpx.AsyncClient) -> None:
    """§2.3: 405 for another method."""
    assert (await http.get("/oauth/par")).status_code == 405


async def test_client_of_another_tenant_is_unknown(
    http: httpx.AsyncClient, client: OAuthClient, other_tenant: TenantInfo
) -> None:
    response = await http.post(
        "/oauth/par",
        data=authorize_params(client),
        headers={**basic(client.client_id), "Host": "globex.example"},
    )
    assert_oauth_error(response, 401, "invalid_client")


@pytest.fixture
def small_limit(app: FastAPI) -> Iterator[None]:
    kept = app.state.par_limiter
    app.state.par_limiter = RateLimiter("2/minute")
    yield
    app.state.par_limiter = kept


@pytest.mark.usefixtures("small_limit")
async def test_past_the_rate_limit_is_429_with_retry_after(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient
) -> None:
    """§2.3: 429 when a client sends too many requests; counted before authentication."""
    assert (await push(http, client)).status_code == 201
    assert (await push(http, client, headers=basic(client.client_id, "wrong"))).status_code == 401
    refused = await push(http, client)
    assert_oauth_error(refused, 429, "invalid_request")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-remaining"] == "0"
    assert len((await db.scalars(select(PushedAuthorizationRequest))).all()) == 1


async def test_metadata_advertises_the_endpoint(http: httpx.AsyncClient) -> None:
    """§5: pushed_authorization_request_endpoint and require_pushed_authorization_requests."""
    body = (await http.get("/.well-known/oauth-authorization-server")).json()
    assert body["pushed_authorization_request_endpoint"] == "http://localhost/oauth/par"
    assert body["require_pushed_authorization_requests"] is False


async def test_openapi_documents_the_endpoint(http: httpx.AsyncClient) -> None:
    paths = (await http.get("/openapi.json")).json()["paths"]
    assert "post" in paths["/oauth/par"]


# --- The authorization endpoint (§4) ----------------------------------------------------


async def test_full_code_flow_through_par(
    http: httpx.AsyncClient, client: OAuthClient, signed_in: User
) -> None:
    request_uri = await pushed_uri(http, client, state="pushed-state")
    page = await consent_page(http, client, request_uri)
    assert page.status_code == 200, page.text
    assert "Helpdesk Sync" in page.text
    assert "View tickets and their conversations" in page.text
    # The form carries the reference, not the parameters, so they cannot be altered.
    fields = hidden_fields(page.text)
    assert set(fields) == {"csrf_token", "client_id", "request_uri"}
    assert fields["request_uri"] == request_uri
    allowed = await answer(http, page)
    assert allowed.status_code == 303, allowed.text
    assert allowed.headers["location"].startswith(REDIRECT_URI + "?")
    query = query_of(allowed)
    assert query["state"] == "pushed-state"
    assert query["iss"] == "http://localhost"
    tokens = await exchange_confidential(http, client, query["code"])
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["scope"] == "profile tickets:read"


async def test_public_client_code_flow_through_par(
    http: httpx.AsyncClient, public: OAuthClient, signed_in: User
) -> None:
    request_uri = await pushed_uri(http, public)
    allowed = await answer(http, await consent_page(http, public, request_uri))
    code = query_of(allowed)["code"]
    tokens = await exchange(http, public, code)
    assert tokens.status_code == 200, tokens.text


async def test_query_parameters_beside_request_uri_are_ignored(
    http: httpx.AsyncClient, client: OAuthClient, signed_in: User
) -> None:
    """§4: the pushed parameters are used, whatever else the query says."""
    request_uri = await pushed_uri(http, client, scope="tickets:read")
    page = await consent_page(
        http,
        client,
        request_uri,
        scope="tickets:write audit:read",
        state="from-the-query",
        redirect_uri="https://evil.example/callback",
    )
    assert page.status_code == 200, page.text
    assert "Create, update and reply to tickets" not in page.text
    allowed = await answer(http, page)
    assert allowed.headers["location"].startswith(REDIRECT_URI + "?")
    assert query_of(allowed)["state"] == "xyz-state"


async def test_extra_form_fields_beside_request_uri_are_ignored(
    http: httpx.AsyncClient, client: OAuthClient, signed_in: User
) -> None:
    request_uri = await pushed_uri(http, client, scope="tickets:read")
    page = await consent_page(http, client, request_uri)
    form = {
        **hidden_fields(page.text),
        "decision": "allow",
        "scope": "tickets:write",
        "redirect_uri": "https://evil.example/cb",
    }
    allowed = await http.post("/oauth/authorize", data=form)
    assert allowed.headers["location"].startswith(REDIRECT_URI + "?")
    tokens = await exchange_confidential(http, client, query_of(allowed)["code"])
    assert tokens.json()["scope"] == "tickets:read"


async def test_the_consent_page_shows_a_pushed_request_once(
    http: httpx.AsyncClient, client: OAuthClient, signed_in: User
) -> None:
    request_uri = await pushed_uri(http, client)
    first = await consent_page(http, client, request_uri)
    assert first.status_code == 200
    assert_unusable(await consent_page(http, client, request_uri))
    # The page already shown can still be answered, once.
    assert (await answer(http, first)).status_code == 303
    assert_unusable(await answer(http, first))
    assert_unusable(await consent_page(http, client, request_uri))


async def test_deny_uses_the_request_up_too(
    http: httpx.AsyncClient, client: OAuthClient, signed_in: User
) -> None:
    request_uri = await pushed_uri(http, client)
    page = await consent_page(http, client, request_uri)
    denied = await answer(http, page, decision="deny")
    assert denied.status_code == 303
    assert query_of(denied)["error"] == "access_denied"
    assert_unusable(await answer(http, page))


async def test_skip_consent_uses_the_request_at_once(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, signed_in: User
) -> None:
    await configure(db, client, skip_consent=True)
    first = await pushed_uri(http, client)
    await answer(http, await consent_page(http, client, first))  # records the consent
    request_uri = await pushed_uri(http, client)
    skipped = await consent_page(http, client, request_uri)
    assert skipped.status_code == 302, skipped.text
    assert "code" in query_of(skipped)
    assert_unusable(await consent_page(http, client, request_uri))


async def test_sign_in_first_leaves_the_request_unused_and_waiting(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, admin: User
) -> None:
    """Signing in may take longer than the push's 60 s: once the browser brought the
    request in time, it waits for the user, up to ten minutes after the push."""
    request_uri = await pushed_uri(http, client)
    for _ in range(2):  # a second visit does not extend it further
        signed_out = await consent_page(http, client, request_uri)
        assert signed_out.status_code == 303
        assert signed_out.headers["location"].startswith("/login?next=")
        row = (await db.scalars(select(PushedAuthorizationRequest))).one()
        await db.refresh(row)
        assert row.shown_to is None
        assert row.expires_at - row.created_at == timedelta(minutes=10)
    await login(http, admin.email)
    assert (await consent_page(http, client, request_uri)).status_code == 200


async def test_expired_request_uri_is_not_held_for_sign_in(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient
) -> None:
    request_uri = await pushed_uri(http, client)
    await db.execute(
        update(PushedAuthorizationRequest).values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await db.commit()
    assert_unusable(await consent_page(http, client, request_uri))


async def test_expired_request_uri_is_rejected(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, signed_in: User
) -> None:
    """§4: "An expired request_uri MUST be rejected as invalid"."""
    request_uri = await pushed_uri(http, client)
    await db.execute(
        update(PushedAuthorizationRequest).values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await db.commit()
    assert_unusable(await consent_page(http, client, request_uri))


async def test_consent_left_open_too_long_is_rejected(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, signed_in: User
) -> None:
    request_uri = await pushed_uri(http, client)
    page = await consent_page(http, client, request_uri)
    row = (await db.scalars(select(PushedAuthorizationRequest))).one()
    # Showing it gives the user time to read the page, beyond the 60 s of the push.
    assert row.shown_to == signed_in.id
    assert row.expires_at - utcnow() > timedelta(minutes=9)
    await db.execute(
        update(PushedAuthorizationRequest).values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await db.commit()
    assert_unusable(await answer(http, page))


@pytest.mark.parametrize(
    "request_uri",
    [
        URN + "A" * 43,
        "https://client.example/request.jwt",
        URN,
        URN + "short",
    ],
    ids=["unknown", "not-a-pushed-request-urn", "empty-reference", "short-reference"],
)
async def test_unknown_request_uri_shows_an_error_page(
    http: httpx.AsyncClient, client: OAuthClient, signed_in: User, request_uri: str
) -> None:
    assert_unusable(await consent_page(http, client, request_uri))


async def test_repeated_request_uri_shows_an_error_page(
    http: httpx.AsyncClient, client: OAuthClient, signed_in: User
) -> None:
    request_uri = await pushed_uri(http, client)
    query = [("client_id", client.client_id), ("request_uri", request_uri)] * 2
    assert_unusable(await http.get("/oauth/authorize", params=query))


async def test_another_clients_request_uri_is_rejected(
    http: httpx.AsyncClient, client: OAuthClient, public: OAuthClient, signed_in: User
) -> None:
    """§2.2: the request_uri is bound to the client that pushed it."""
    request_uri = await pushed_uri(http, client)
    assert_unusable(await consent_page(http, public, request_uri))
    assert_unusable(await http.get("/oauth/authorize", params={"request_uri": request_uri}))
    # The attempt did not use it up for its own client.
    assert (await consent_page(http, client, request_uri)).status_code == 200


async def test_request_uri_of_another_tenant_is_unknown(
    http: httpx.AsyncClient, client: OAuthClient, other_tenant: TenantInfo, signed_in: User
) -> None:
    request_uri = await pushed_uri(http, client)
    response = await http.get(
        "/oauth/authorize",
        params={"client_id": client.client_id, "request_uri": request_uri},
        headers={"Host": "globex.example"},
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert (await consent_page(http, client, request_uri)).status_code == 200


@pytest.fixture
async def agent_http(app: FastAPI, agent: User) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as other:
        await login(other, agent.email)
        yield other


async def test_only_the_user_shown_the_request_can_answer_it(
    http: httpx.AsyncClient,
    agent_http: httpx.AsyncClient,
    client: OAuthClient,
    signed_in: User,
) -> None:
    request_uri = await pushed_uri(http, client)
    page = await consent_page(http, client, request_uri)
    # Another user, with a consent form of their own, posts the same request_uri.
    own = await agent_http.get("/oauth/authorize", params=authorize_params(client))
    form = {**hidden_fields(page.text), "csrf_token": csrf_from(own.text), "decision": "allow"}
    assert_unusable(await agent_http.post("/oauth/authorize", data=form))
    assert (await answer(http, page)).status_code == 303


async def test_a_request_uri_never_shown_cannot_be_answered(
    http: httpx.AsyncClient, client: OAuthClient, signed_in: User
) -> None:
    """Posting a request_uri straight to the consent form skips nothing."""
    request_uri = await pushed_uri(http, client)
    own = await http.get("/oauth/authorize", params=authorize_params(client))
    form = {
        "csrf_token": csrf_from(own.text),
        "client_id": client.client_id,
        "request_uri": request_uri,
        "decision": "allow",
    }
    assert_unusable(await http.post("/oauth/authorize", data=form))


async def test_client_changed_after_the_push_is_checked_again(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, signed_in: User
) -> None:
    """§4: requests from pushed ones are validated as any other."""
    request_uri = await pushed_uri(http, client, scope="tickets:read")
    await configure(db, client, scopes=["profile"])
    refused = await consent_page(http, client, request_uri)
    assert refused.status_code == 302
    assert query_of(refused)["error"] == "invalid_scope"


@pytest.fixture
async def second_process(
    settings: Settings, engine: AsyncEngine
) -> AsyncIterator[httpx.AsyncClient]:
    """Another server on the same database, with caches and memory of its own."""
    platform = Platform.build(settings, engine)
    await platform.start()
    try:
        transport = httpx.ASGITransport(
            app=create_app(platform=platform), client=("203.0.113.7", 1)
        )
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            yield http
    finally:
        await platform.stop(dispose_engine=False)  # the engine is the test session's


async def test_a_request_pushed_to_one_process_is_used_at_another(
    http: httpx.AsyncClient,
    second_process: httpx.AsyncClient,
    client: OAuthClient,
    admin: User,
) -> None:
    request_uri = await pushed_uri(http, client)
    await login(second_process, admin.email)
    page = await consent_page(second_process, client, request_uri)
    assert page.status_code == 200, page.text
    await login(http, admin.email)
    assert_unusable(await consent_page(http, client, request_uri))
    allowed = await answer(second_process, page)
    tokens = await exchange_confidential(http, client, query_of(allowed)["code"])
    assert tokens.status_code == 200, tokens.text


# --- Require PAR (§4, per client) -------------------------------------------------------


async def test_client_requiring_par_is_refused_a_plain_request(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, signed_in: User
) -> None:
    """§4: "the authorization server will refuse, using the invalid_request error code"."""
    await configure(db, client, require_par=True)
    response = await http.get("/oauth/authorize", params=authorize_params(client))
    assert response.status_code == 302
    query = query_of(response)
    assert query["error"] == "invalid_request"
    assert "par" in query["error_description"]
    assert query["state"] == "xyz-state"


async def test_client_requiring_par_is_refused_a_plain_consent_form(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, signed_in: User
) -> None:
    page = await http.get("/oauth/authorize", params=authorize_params(client))
    await configure(db, client, require_par=True)
    form = {**hidden_fields(page.text), "decision": "allow"}
    response = await http.post("/oauth/authorize", data=form)
    assert response.status_code == 303
    assert query_of(response)["error"] == "invalid_request"


async def test_client_requiring_par_gets_codes_through_par(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, signed_in: User
) -> None:
    await configure(db, client, require_par=True)
    request_uri = await pushed_uri(http, client)
    allowed = await answer(http, await consent_page(http, client, request_uri))
    assert "code" in query_of(allowed)


def edit_url(client: OAuthClient) -> str:
    return f"/settings/security/oauth-clients/{client.id}/edit"


async def test_console_switch_requires_par_and_is_audited(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, signed_in: User
) -> None:
    page = await http.get(edit_url(client))
    assert "Require pushed authorization requests (PAR)" in page.text
    assert "/oauth/par" in page.text
    assert 'name="require_par" aria-describedby="require_par_help" >' in page.text
    form: dict[str, Any] = {
        "client_name": client.client_name,
        "description": client.description,
        "redirect_uris": REDIRECT_URI,
        "grant_types": ["authorization_code", "refresh_token"],
        "scopes": ["tickets:read", "profile"],
        "is_enabled": "on",
        "require_par": "on",
        "csrf_token": csrf_from(page.text),
    }
    saved = await http.post(edit_url(client), data=form)
    assert saved.status_code == 303, saved.text
    await db.refresh(client)
    assert client.require_par is True
    shown = await http.get(edit_url(client))
    assert 'name="require_par" aria-describedby="require_par_help" checked>' in shown.text
    events = (
        await db.scalars(select(AuditEvent).where(AuditEvent.action == Action.CLIENT_UPDATED))
    ).all()
    assert [e.target_id for e in events] == [client.client_id]
    refused = await http.get("/oauth/authorize", params=authorize_params(client))
    assert query_of(refused)["error"] == "invalid_request"
    del form["require_par"]
    form["csrf_token"] = csrf_from(shown.text)
    assert (await http.post(edit_url(client), data=form)).status_code == 303
    await db.refresh(client)
    assert client.require_par is False


# --- Housekeeping ------------------------------------------------------------------------


async def test_housekeeping_purges_expired_pushed_requests(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient
) -> None:
    await pushed_uri(http, client)
    await pushed_uri(http, client)
    assert await housekeeping.purge(db) == 0
    first = (await db.scalars(select(PushedAuthorizationRequest))).first()
    assert first is not None
    await db.execute(
        update(PushedAuthorizationRequest)
        .where(PushedAuthorizationRequest.request_digest == first.request_digest)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await db.commit()
    assert await housekeeping.purge(db) == 1
    await db.commit()
    assert len((await db.scalars(select(PushedAuthorizationRequest))).all()) == 1
