"""One address flooded with bad sign-ins: who else is locked out, and who is not.

Address counters are per tenant, under a higher platform-wide ceiling; a
browser that signed in before carries a device cookie that keeps its account
signing in while the address is refused (OWASP's device cookie pattern).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import Role, User
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from cloudcx.security import devices
from cloudcx.tenancy.service import TenantInfo
from tests import helpers
from tests import two_factor as tf
from tests.conftest import make_user
from tests.security.conftest import FakeClock
from tests.security.test_signin import ATTACKER_IP, POLICY, guess

DEVICE_SECONDS = 30 * 86400


def browser(app: FastAPI, host: str = "localhost", scheme: str = "http") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ATTACKER_IP, 50000))
    return httpx.AsyncClient(transport=transport, base_url=f"{scheme}://{host}")


@pytest_asyncio.fixture
async def person(app: FastAPI, admin: User) -> AsyncIterator[httpx.AsyncClient]:
    """The administrator's own browser, behind the attacker's address: signed in once."""
    async with browser(app) as client:
        assert (await helpers.login(client, admin.email)).status_code == 303
        home = await client.get("/")
        await client.post("/logout", data={"csrf_token": helpers.csrf_from(home.text)})
        assert client.cookies.get(devices.COOKIE)
        yield client


async def spray(http: httpx.AsyncClient, client_id: str, count: int) -> None:
    """Wrong passwords at many accounts of one tenant, from the attacker's address."""
    for n in range(count):
        await guess(http, client_id, f"user{n}@acme.example", "Winter2026!!")


def small_policy(platform: Platform, monkeypatch: pytest.MonkeyPatch, **limits: int) -> None:
    policy = dataclasses.replace(POLICY, **limits)
    monkeypatch.setattr(platform.throttle, "policy_for", lambda _t: policy)


async def test_a_flood_at_one_tenant_leaves_the_address_free_at_another(
    app: FastAPI,
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    admin: User,
    other_tenant: TenantInfo,
    oauth_client: OAuthClient,
    clock: FakeClock,
) -> None:
    globex_admin = await make_user(db, platform, other_tenant, "boss@globex.example", Role.ADMIN)
    await spray(http, oauth_client.client_id, POLICY.ip_limit)
    refused = await guess(http, oauth_client.client_id, admin.email, helpers.PASSWORD)
    assert refused.status_code == 429  # the password grant has no device cookie
    async with browser(app, "globex.example") as globex:
        signed_in = await helpers.login(globex, globex_admin.email)
    assert signed_in.status_code == 303, signed_in.text


async def test_the_platform_wide_ceiling_refuses_the_address_everywhere(
    app: FastAPI,
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    other_tenant: TenantInfo,
    oauth_client: OAuthClient,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    small_policy(platform, monkeypatch, ip_limit=3, platform_ip_limit=5)
    globex_admin = await make_user(db, platform, other_tenant, "boss@globex.example", Role.ADMIN)
    await spray(http, oauth_client.client_id, 3)
    async with browser(app, "globex.example") as globex:
        for n in range(2):
            wrong = await helpers.login(globex, f"nobody{n}@globex.example", "wrong-password-1")
            assert wrong.status_code == 400
        refused = await helpers.login(globex, globex_admin.email)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1


async def test_a_device_cookie_keeps_its_account_signing_in_during_an_address_lockout(
    app: FastAPI,
    http: httpx.AsyncClient,
    admin: User,
    oauth_client: OAuthClient,
    clock: FakeClock,
    person: httpx.AsyncClient,
) -> None:
    await spray(http, oauth_client.client_id, POLICY.ip_limit)
    async with browser(app) as stranger:
        locked = await helpers.login(stranger, admin.email)
    assert locked.status_code == 429
    signed_in = await helpers.login(person, admin.email)
    assert signed_in.status_code == 303, signed_in.text


async def test_a_device_cookie_is_for_its_own_account_only(
    app: FastAPI,
    http: httpx.AsyncClient,
    admin: User,
    agent: User,
    oauth_client: OAuthClient,
    clock: FakeClock,
    person: httpx.AsyncClient,
) -> None:
    await spray(http, oauth_client.client_id, POLICY.ip_limit)
    other_account = await helpers.login(person, agent.email)
    assert other_account.status_code == 429


async def test_a_device_cookie_used_for_guessing_is_locked_out_itself(
    http: httpx.AsyncClient,
    admin: User,
    oauth_client: OAuthClient,
    clock: FakeClock,
    person: httpx.AsyncClient,
) -> None:
    await spray(http, oauth_client.client_id, POLICY.ip_limit)
    statuses = [
        (await helpers.login(person, admin.email, f"guess-{n}")).status_code
        for n in range(POLICY.free_failures + 1)
    ]
    assert statuses == [400] * POLICY.free_failures + [429]
    right_password = await helpers.login(person, admin.email)
    assert right_password.status_code == 429  # waits out its backoff like any pair
    clock.advance(POLICY.backoff(POLICY.free_failures))
    assert (await helpers.login(person, admin.email)).status_code == 303


async def test_the_account_limit_still_applies_to_a_device(
    http: httpx.AsyncClient,
    platform: Platform,
    admin: User,
    oauth_client: OAuthClient,
    clock: FakeClock,
    person: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    small_policy(platform, monkeypatch, account_limit=3)
    for n in range(3):
        await guess(http, oauth_client.client_id, admin.email, f"wrong-{n}")
    page = await helpers.login(person, admin.email)
    assert page.status_code == 400  # locked accounts look like a wrong password
    assert "The email or password is incorrect." in page.text


@pytest.mark.parametrize(
    "mangle",
    [
        lambda v: v[:-1] + ("0" if v[-1] != "0" else "1"),
        lambda v: v.split(".")[0] + ".9999999999." + v.split(".")[2],
        lambda v: "x" * 500,
        lambda v: "",
    ],
    ids=["bad-mac", "extended-expiry", "huge", "empty"],
)
async def test_a_forged_device_cookie_is_ignored(
    app: FastAPI,
    http: httpx.AsyncClient,
    admin: User,
    oauth_client: OAuthClient,
    clock: FakeClock,
    person: httpx.AsyncClient,
    mangle: object,
) -> None:
    await spray(http, oauth_client.client_id, POLICY.ip_limit)
    value = person.cookies[devices.COOKIE]
    async with browser(app) as forger:
        forger.cookies.set(devices.COOKIE, mangle(value))  # type: ignore[operator]
        assert (await helpers.login(forger, admin.email)).status_code == 429


def test_an_expired_device_cookie_names_no_device(platform: Platform, tenant: TenantInfo) -> None:
    settings = platform.settings
    issued_at = time.time() - DEVICE_SECONDS - 1
    value = devices.make(settings, tenant.id, "admin@acme.example", now=issued_at)
    assert devices.verified(settings, tenant.id, "admin@acme.example", value) is None
    fresh = devices.make(settings, tenant.id, "admin@acme.example")
    assert devices.verified(settings, tenant.id, "ADMIN@acme.example", fresh) == fresh.split(".")[0]
    assert devices.verified(settings, tenant.id, "agent@acme.example", fresh) is None


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_the_device_cookie_attributes(
    app: FastAPI, admin: User, tenant: TenantInfo, scheme: str
) -> None:
    async with browser(app, scheme=scheme) as client:
        response = await helpers.login(client, admin.email)
    assert response.status_code == 303
    [header] = [h for h in response.headers.get_list("set-cookie") if h.startswith("cx_device=")]
    attributes = {a.strip().split("=")[0].lower() for a in header.split(";")[1:]}
    assert {"httponly", "max-age", "path", "samesite"} <= attributes
    assert f"Max-Age={DEVICE_SECONDS}" in header
    assert "SameSite=lax" in header
    assert ("secure" in attributes) == (scheme == "https")


async def test_a_failed_sign_in_sets_no_device_cookie(
    app: FastAPI, admin: User, tenant: TenantInfo
) -> None:
    async with browser(app) as client:
        wrong = await helpers.login(client, admin.email, "wrong-password-1")
    assert wrong.status_code == 400
    assert devices.COOKIE not in wrong.cookies


async def test_look_alike_logins_share_their_counters(
    http: httpx.AsyncClient, admin: User, oauth_client: OAuthClient, clock: FakeClock
) -> None:
    """Varying the width or case of an address does not buy fresh guesses."""
    spellings = ["admin@acme.example", "ADMIN@acme.example", "\uff41dmin@acme.example"]
    statuses = []
    for n in range(POLICY.free_failures + 1):
        login = spellings[n % len(spellings)]
        statuses.append((await guess(http, oauth_client.client_id, login, f"x-{n}")).status_code)
    assert statuses == [400] * POLICY.free_failures + [429]


async def test_a_device_cookie_also_carries_the_second_factor_through_a_lockout(
    app: FastAPI,
    http: httpx.AsyncClient,
    admin: User,
    oauth_client: OAuthClient,
    clock: FakeClock,
) -> None:
    """The one-time code is throttled like the password: the device exempts both."""
    async with browser(app) as own:
        await helpers.login(own, admin.email)  # sets the device cookie
        secret, _codes = await tf.enrol(own)
        await tf.sign_out(own)
        await spray(http, oauth_client.client_id, POLICY.ip_limit)
        again = await tf.sign_in_with_code(own, admin.email, tf.code(secret, 1))
        assert again.status_code == 303, again.text
    async with browser(app) as stranger:
        first = await helpers.login(stranger, admin.email)
    assert first.status_code == 429
