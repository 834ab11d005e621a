"""RFC 7636: PKCE with S256, required for public clients; ``plain`` refused."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.oauth import pkce
from cloudcx.oauth.models import OAuthClient
from tests.helpers import login
from tests.oauth.flows import (
    SECRET,
    VERIFIER,
    assert_oauth_error,
    authorize_params,
    configure,
    exchange,
    get_code,
    query_of,
    s256,
)


@pytest.fixture
async def client(db: AsyncSession, oauth_client: OAuthClient) -> OAuthClient:
    return await configure(db, oauth_client)


def test_s256_matches_rfc7636_appendix_b() -> None:
    assert pkce.s256(VERIFIER) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


@pytest.mark.parametrize(
    "overrides",
    [
        {"code_challenge_method": "plain"},
        {"code_challenge_method": None},
        {"code_challenge_method": "S512"},
        {"code_challenge": "too-short"},
        {"code_challenge": "a" * 42 + "="},
        {"code_challenge": None},
        {"code_challenge": None, "code_challenge_method": None},
    ],
    ids=[
        "plain-method",
        "method-omitted-means-plain",
        "unknown-method",
        "short-challenge",
        "challenge-not-base64url",
        "method-without-challenge",
        "public-client-without-challenge",
    ],
)
async def test_bad_pkce_request_is_invalid_request(
    http: httpx.AsyncClient, client: OAuthClient, admin: User, overrides: dict[str, str | None]
) -> None:
    await login(http, admin.email)
    response = await http.get("/oauth/authorize", params=authorize_params(client, **overrides))
    assert response.status_code == 302
    assert query_of(response)["error"] == "invalid_request"


async def test_right_verifier_gets_tokens(
    http: httpx.AsyncClient, client: OAuthClient, admin: User
) -> None:
    code = await get_code(http, client, admin.email)
    response = await exchange(http, client, code)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("verifier", "status", "error"),
    [
        ("x" * 43, 400, "invalid_grant"),
        (VERIFIER[:-1] + "A", 400, "invalid_grant"),
        (s256(VERIFIER), 400, "invalid_grant"),
        (None, 400, "invalid_request"),
        ("short", 400, "invalid_request"),
        ("a" * 129, 400, "invalid_request"),
        ("has space" * 6, 400, "invalid_request"),
    ],
    ids=[
        "other-verifier",
        "one-character-changed",
        "challenge-sent-as-verifier",
        "no-verifier",
        "verifier-under-43",
        "verifier-over-128",
        "verifier-bad-characters",
    ],
)
async def test_wrong_or_missing_verifier(
    http: httpx.AsyncClient,
    client: OAuthClient,
    admin: User,
    verifier: str | None,
    status: int,
    error: str,
) -> None:
    code = await get_code(http, client, admin.email)
    response = await exchange(http, client, code, code_verifier=verifier)
    assert_oauth_error(response, status, error)


async def test_verifier_for_code_issued_without_challenge_is_invalid_grant(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient, admin: User
) -> None:
    """A confidential client may skip PKCE, but then no verifier may appear
    (RFC 9700 §2.1.1 PKCE downgrade)."""
    client = await configure(db, oauth_client, confidential=True)
    code = await get_code(
        http, client, admin.email, code_challenge=None, code_challenge_method=None
    )
    response = await exchange(http, client, code, client_secret=SECRET)
    assert_oauth_error(response, 400, "invalid_grant")


async def test_confidential_client_may_omit_pkce(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient, admin: User
) -> None:
    client = await configure(db, oauth_client, confidential=True)
    code = await get_code(
        http, client, admin.email, code_challenge=None, code_challenge_method=None
    )
    response = await exchange(http, client, code, client_secret=SECRET, code_verifier=None)
    assert response.status_code == 200, response.text
