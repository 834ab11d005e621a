"""Global Settings > Security > Signing Keys, and rotation keeping old public keys."""

from __future__ import annotations

import httpx
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.oauth import keys
from cloudcx.oauth.models import OAuthClient, SigningKey
from cloudcx.platform import Platform
from tests.helpers import bearer, login, password_token

PAGE = "/settings/security/keys"


async def test_admin_sees_keys_and_nav_link(http: httpx.AsyncClient, admin: User) -> None:
    await login(http, admin.email)
    page = await http.get(PAGE)
    assert page.status_code == 200
    assert "<h1>Signing Keys</h1>" in page.text
    assert "Active" in page.text
    assert ">Signing Keys</a>" in page.text
    assert "cloudcx keys rotate" in page.text


async def test_agent_is_refused(http: httpx.AsyncClient, agent: User) -> None:
    await login(http, agent.email)
    assert (await http.get(PAGE)).status_code == 403
    assert ">Signing Keys</a>" not in (await http.get("/")).text


async def test_rotation_keeps_old_tokens_valid_and_lists_retired_key(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    oauth_client: OAuthClient,
    admin: User,
) -> None:
    before = await password_token(http, oauth_client.client_id, admin.email)
    old_kids = set((await db.scalars(select(SigningKey.kid))).all())
    settings = platform.settings
    new = await keys.rotate(db, settings.resolved_secret_key, settings.signing_alg, 3600)
    await db.commit()
    try:
        await platform.keys.refresh()
        jwks = (await http.get("/.well-known/jwks.json")).json()
        assert {k["kid"] for k in jwks["keys"]} >= old_kids | {new.kid}
        me = await http.get("/api/v1/me", headers=bearer(before["access_token"]))
        assert me.status_code == 200
        after = await password_token(http, oauth_client.client_id, admin.email)
        assert after["access_token"].split(".")[0] != before["access_token"].split(".")[0]
        await login(http, admin.email)
        page = (await http.get(PAGE)).text
        assert new.kid in page and "Retired, published" in page
    finally:
        # Signing keys survive between tests: leave exactly one active key behind.
        await db.execute(delete(SigningKey).where(SigningKey.kid != new.kid))
        await db.commit()
        await platform.keys.refresh()
