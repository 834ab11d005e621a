"""The password grant for accounts with two-factor sign-in: the code as ``totp``."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.oauth.grants.password import CHANGE_PASSWORD_FIRST
from cloudcx.oauth.grants.second_factor import CODE_REQUIRED, SET_UP_FIRST, WRONG_CODE
from cloudcx.oauth.models import OAuthClient
from cloudcx.tenancy.models import Tenant
from cloudcx.tenancy.service import TenantInfo
from tests import helpers
from tests import two_factor as tf


def token_form(client: OAuthClient, user: User, **extra: str) -> dict[str, str]:
    return helpers.password_form(client_id=client.client_id, email=user.email, **extra)


@pytest.fixture
async def secret(http: httpx.AsyncClient, agent: User) -> str:
    await helpers.login(http, agent.email)
    secret, _ = await tf.enrol(http)
    await tf.sign_out(http)
    return secret


@pytest.mark.parametrize(
    ("totp", "description"),
    [
        pytest.param(None, CODE_REQUIRED, id="code-missing"),
        pytest.param("", CODE_REQUIRED, id="code-empty"),
        pytest.param("000000", WRONG_CODE, id="code-wrong"),
        pytest.param("not-a-code", WRONG_CODE, id="code-not-digits"),
    ],
)
async def test_refusals_are_invalid_grant(
    http: httpx.AsyncClient,
    agent: User,
    oauth_client: OAuthClient,
    secret: str,
    totp: str | None,
    description: str,
) -> None:
    data = token_form(oauth_client, agent)
    if totp is not None:
        data["totp"] = totp
    response = await http.post("/oauth/token", data=data)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": description}
    assert response.headers["cache-control"] == "no-store"


async def test_a_current_code_gets_a_token_once(
    http: httpx.AsyncClient, agent: User, oauth_client: OAuthClient, secret: str
) -> None:
    code = tf.code(secret, 1)
    first = await http.post("/oauth/token", data=token_form(oauth_client, agent, totp=code))
    assert first.status_code == 200, first.text
    me = await http.get("/api/v1/me", headers=helpers.bearer(first.json()["access_token"]))
    assert me.status_code == 200
    replay = await http.post("/oauth/token", data=token_form(oauth_client, agent, totp=code))
    assert replay.status_code == 400
    assert replay.json()["error_description"] == WRONG_CODE


async def test_the_code_is_asked_only_after_the_right_password(
    http: httpx.AsyncClient, agent: User, oauth_client: OAuthClient, secret: str
) -> None:
    response = await http.post(
        "/oauth/token", data=token_form(oauth_client, agent, password="wrong-password-here")
    )
    assert response.status_code == 400
    assert response.json()["error_description"] != CODE_REQUIRED


async def test_a_password_to_change_is_told_only_after_the_code(
    http: httpx.AsyncClient, db: AsyncSession, agent: User, oauth_client: OAuthClient, secret: str
) -> None:
    await db.execute(update(User).where(User.id == agent.id).values(must_change_password=True))
    await db.commit()
    without = await http.post("/oauth/token", data=token_form(oauth_client, agent))
    assert without.json()["error_description"] == CODE_REQUIRED
    coded = await http.post(
        "/oauth/token", data=token_form(oauth_client, agent, totp=tf.code(secret, steps_ahead=1))
    )
    assert coded.status_code == 400
    assert coded.json() == {"error": "invalid_grant", "error_description": CHANGE_PASSWORD_FIRST}


async def test_wrong_codes_are_throttled(
    http: httpx.AsyncClient, agent: User, oauth_client: OAuthClient, secret: str
) -> None:
    """Each wrong code is a failure of the account from this address, as a wrong password is."""
    statuses = []
    for n in range(8):
        response = await http.post(
            "/oauth/token", data=token_form(oauth_client, agent, totp=f"{n:06d}")
        )
        statuses.append(response.status_code)
    assert statuses[:5] == [400] * 5
    assert 429 in statuses[5:]
    throttled = response if response.status_code == 429 else None
    if throttled is not None:
        assert throttled.json()["error"] == "invalid_request"
        assert int(throttled.headers["retry-after"]) >= 1


async def test_required_but_not_set_up_is_refused(
    http: httpx.AsyncClient,
    db: AsyncSession,
    tenant: TenantInfo,
    agent: User,
    oauth_client: OAuthClient,
) -> None:
    await db.execute(
        update(Tenant).where(Tenant.id == tenant.id).values(two_factor_required="everyone")
    )
    await db.commit()
    response = await http.post("/oauth/token", data=token_form(oauth_client, agent))
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": SET_UP_FIRST}


async def test_accounts_without_two_factor_need_no_code(
    http: httpx.AsyncClient, agent: User, oauth_client: OAuthClient
) -> None:
    assert (await helpers.password_token(http, oauth_client.client_id, agent.email))["access_token"]
