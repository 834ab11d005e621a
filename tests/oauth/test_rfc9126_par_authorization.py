"""RFC 9126 §4: pushed requests at the authorization endpoint, used once; "Require PAR"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cloudcx.accounts.models import User
from cloudcx.app import create_app
from cloudcx.audit.models import AuditEvent
from cloudcx.audit.service import Action
from cloudcx.config import Settings
from cloudcx.db import utcnow
from cloudcx.oauth.models import OAuthClient, PushedAuthorizationRequest
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from tests.helpers import csrf_from, login
from tests.oauth.dpop_keys import DPoPKey
from tests.oauth.flows import (
    REDIRECT_URI,
    VERIFIER,
    authorize_params,
    configure,
    exchange,
    query_of,
)
from tests.oauth.par import (
    URN,
    answer,
    assert_unusable,
    basic,
    consent_page,
    exchange_confidential,
    hidden_fields,
    public_client,
    push,
    pushed_uri,
)

pytestmark = pytest.mark.usefixtures("admin")


@pytest.fixture
async def client(db: AsyncSession, oauth_client: OAuthClient) -> OAuthClient:
    """A confidential client allowed the code flow."""
    return await configure(db, oauth_client, confidential=True)


@pytest.fixture
async def public(db: AsyncSession, tenant: TenantInfo) -> OAuthClient:
    return await public_client(db, tenant)


@pytest.fixture
async def signed_in(http: httpx.AsyncClient, admin: User) -> User:
    await login(http, admin.email)
    return admin


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


async def test_a_pushed_request_is_used_once(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, signed_in: User
) -> None:
    """§4: one-time use, though the user may reload the consent page before answering."""
    request_uri = await pushed_uri(http, client)
    first = await consent_page(http, client, request_uri)
    assert first.status_code == 200
    row = (await db.scalars(select(PushedAuthorizationRequest))).one()
    reloaded = await consent_page(http, client, request_uri)
    assert reloaded.status_code == 200
    await db.refresh(row)
    assert row.used_at is None
    allowed = await answer(http, reloaded)
    assert allowed.status_code == 303 and "code" in query_of(allowed)
    await db.refresh(row)
    assert row.used_at is not None
    # Used up: neither page can be answered again, nor the request opened again.
    assert_unusable(await answer(http, first))
    assert_unusable(await answer(http, reloaded))
    assert_unusable(await consent_page(http, client, request_uri))


async def test_a_reload_gives_no_more_time_to_answer(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, signed_in: User
) -> None:
    request_uri = await pushed_uri(http, client)
    await consent_page(http, client, request_uri)
    row = (await db.scalars(select(PushedAuthorizationRequest))).one()
    deadline = row.expires_at
    await consent_page(http, client, request_uri)
    await db.refresh(row)
    assert row.expires_at == deadline


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


async def test_only_the_user_shown_the_request_can_open_or_answer_it(
    http: httpx.AsyncClient,
    agent_http: httpx.AsyncClient,
    client: OAuthClient,
    signed_in: User,
) -> None:
    request_uri = await pushed_uri(http, client)
    page = await consent_page(http, client, request_uri)
    assert_unusable(await consent_page(agent_http, client, request_uri))
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
    allowed = await answer(second_process, page)
    await login(http, admin.email)
    assert_unusable(await consent_page(http, client, request_uri))
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


# --- DPoP at the PAR endpoint (RFC 9449 §10.1) --------------------------------------------

PAR_URL = "http://localhost/oauth/par"


async def pushed_with_proof(
    http: httpx.AsyncClient, client: OAuthClient, proof: str, **overrides: str | None
) -> httpx.Response:
    headers = {**basic(client.client_id), "DPoP": proof}
    return await push(http, client, headers=headers, **overrides)


async def code_through_par(
    http: httpx.AsyncClient, client: OAuthClient, key: DPoPKey, **overrides: str | None
) -> str:
    pushed = await pushed_with_proof(http, client, key.proof("POST", PAR_URL), **overrides)
    assert pushed.status_code == 201, pushed.text
    allowed = await answer(http, await consent_page(http, client, pushed.json()["request_uri"]))
    return query_of(allowed)["code"]


async def test_a_proof_sent_with_the_push_binds_the_code_to_its_key(
    http: httpx.AsyncClient, client: OAuthClient, signed_in: User
) -> None:
    key = DPoPKey()
    code = await code_through_par(http, client, key)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    data["code_verifier"] = VERIFIER
    headers = basic(client.client_id)
    # Another key (or none) cannot redeem it; the code stays for its key's holder.
    for proof in (None, DPoPKey().proof()):
        refused = await http.post(
            "/oauth/token", data=data, headers={**headers, **({"DPoP": proof} if proof else {})}
        )
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    tokens = await http.post("/oauth/token", data=data, headers={**headers, "DPoP": key.proof()})
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["token_type"] == "DPoP"


async def test_a_push_whose_dpop_jkt_is_not_the_proofs_key_is_refused(
    http: httpx.AsyncClient, client: OAuthClient, signed_in: User
) -> None:
    key = DPoPKey()
    proof = key.proof("POST", PAR_URL)
    refused = await pushed_with_proof(http, client, proof, dpop_jkt=DPoPKey().jkt)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "invalid_dpop_proof"
    agreeing = await pushed_with_proof(http, client, key.proof("POST", PAR_URL), dpop_jkt=key.jkt)
    assert agreeing.status_code == 201, agreeing.text


async def test_an_invalid_proof_at_the_par_endpoint_is_refused(
    http: httpx.AsyncClient, client: OAuthClient, signed_in: User
) -> None:
    made_for_the_token_endpoint = DPoPKey().proof()
    refused = await pushed_with_proof(http, client, made_for_the_token_endpoint)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "invalid_dpop_proof"
