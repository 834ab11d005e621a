"""Attacks on password sign-in: the password grant and the Control Panel share one defence.

The clock is fake (``clock`` fixture), so an attack lasting minutes runs in
seconds and every count below is exact.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

import httpx
import pytest
from fastapi import FastAPI
from limits.aio.storage import Storage
from limits.storage import storage_from_string
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from cloudcx.security.throttle import Throttle, ThrottlePolicy
from tests import helpers
from tests.password_hashes import OTHER_COSTS, Cost, store_hash
from tests.security.conftest import CountingHasher, FakeClock

ATTACKER_IP = "203.0.113.7"  # the `http` fixture's address
OWNER_IP = "198.51.100.20"
POLICY = ThrottlePolicy()  # the shipped defaults


def client_at(app: FastAPI, ip: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://localhost")


async def guess(
    http: httpx.AsyncClient, client_id: str, email: str, password: str
) -> httpx.Response:
    return await http.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "email": email,
            "password": password,
            "client_id": client_id,
        },
    )


def modelled_evaluations(policy: ThrottlePolicy, attempts: int, interval: float) -> int:
    """How many guesses the policy lets through, computed from its definition."""
    failures: list[float] = []
    unlocked_at = 0.0
    for n in range(attempts):
        now = n * interval
        recent = [t for t in failures if t > now - policy.window]
        if len(recent) >= policy.pair_limit or now < unlocked_at:
            continue
        failures.append(now)
        unlocked_at = now + policy.backoff(len(recent) + 1)
    return len(failures)


def outcome(response: httpx.Response) -> str:
    """'evaluated' (a wrong-password answer), 'throttled' (429) or 'ok'."""
    if response.status_code == 200:
        return "ok"
    body = response.json()
    if response.status_code == 429:
        assert body["error"] == "invalid_request"
        assert int(response.headers["Retry-After"]) >= 1
        return "throttled"
    assert response.status_code == 400, response.text
    assert body == {
        "error": "invalid_grant",
        "error_description": "The email/username or password is incorrect.",
    }
    return "rejected"


async def test_thousand_guesses_from_one_address(
    app: FastAPI,
    http: httpx.AsyncClient,
    admin: User,
    oauth_client: OAuthClient,
    clock: FakeClock,
    argon2_counter: CountingHasher,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """1,000 guesses, two a second for 500 s, at one account from one address."""
    seen: Counter[str] = Counter()
    for n in range(1000):
        response = await guess(http, oauth_client.client_id, admin.email, f"guess-{n:04d}-wrong")
        seen[outcome(response)] += 1
        clock.advance(0.5)
    evaluated = argon2_counter.verifications
    # Free failures, then one each time the backoff (1, 2, 4 ... 60 s) ran out.
    assert seen["rejected"] == evaluated == modelled_evaluations(POLICY, 1000, 0.5)
    assert evaluated <= POLICY.pair_limit
    assert seen["throttled"] == 1000 - evaluated
    assert seen["ok"] == 0

    async with client_at(app, OWNER_IP) as owner:
        ok_elsewhere = await guess(owner, oauth_client.client_id, admin.email, helpers.PASSWORD)
    assert ok_elsewhere.status_code == 200

    still_locked = await guess(http, oauth_client.client_id, admin.email, helpers.PASSWORD)
    assert still_locked.status_code == 429
    clock.advance(POLICY.window)
    recovered = await guess(http, oauth_client.client_id, admin.email, helpers.PASSWORD)
    assert recovered.status_code == 200

    with capsys.disabled():
        print(
            f"\n[1,000 guesses, one address] argon2 verifications: {evaluated}, "
            f"refused with 429: {seen['throttled']}, right password from another "
            f"address: {ok_elsewhere.status_code}, same address after the "
            f"{POLICY.window}s window: {recovered.status_code}"
        )


async def test_thousand_guesses_from_a_thousand_addresses(
    app: FastAPI,
    admin: User,
    oauth_client: OAuthClient,
    clock: FakeClock,
    argon2_counter: CountingHasher,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A distributed attack meets the account-wide limit, answered like a wrong password."""
    seen: Counter[str] = Counter()
    for n in range(1000):
        async with client_at(app, f"10.{n // 250}.{n % 250}.1") as bot:
            response = await guess(bot, oauth_client.client_id, admin.email, f"guess-{n:04d}")
        seen[outcome(response)] += 1
        clock.advance(0.1)
    assert argon2_counter.verifications == POLICY.account_limit
    assert seen == {"rejected": 1000}  # no 429, no hint that a lock exists

    async with client_at(app, OWNER_IP) as owner:
        during = await guess(owner, oauth_client.client_id, admin.email, helpers.PASSWORD)
        clock.advance(POLICY.window)
        after = await guess(owner, oauth_client.client_id, admin.email, helpers.PASSWORD)
    assert outcome(during) == "rejected"
    assert after.status_code == 200
    with capsys.disabled():
        print(
            f"\n[1,000 guesses, 1,000 addresses] argon2 verifications: "
            f"{POLICY.account_limit}, the rest refused as invalid_grant; owner after "
            f"the window: {after.status_code}"
        )


async def test_password_spraying_from_one_address_is_refused(
    http: httpx.AsyncClient,
    admin: User,
    oauth_client: OAuthClient,
    clock: FakeClock,
    argon2_counter: CountingHasher,
) -> None:
    seen: Counter[str] = Counter()
    for n in range(300):
        response = await guess(
            http, oauth_client.client_id, f"user{n}@acme.example", "Winter2026!!"
        )
        seen[outcome(response)] += 1
        clock.advance(1)
    assert argon2_counter.verifications == POLICY.ip_limit
    assert seen == {"rejected": POLICY.ip_limit, "throttled": 300 - POLICY.ip_limit}


async def test_unknown_and_known_accounts_are_throttled_alike(
    app: FastAPI, admin: User, oauth_client: OAuthClient, clock: FakeClock
) -> None:
    """The defence must not become an account-existence oracle."""
    trails = []
    for ip, email in (("192.0.2.1", admin.email), ("192.0.2.2", "nobody@acme.example")):
        trail = []
        async with client_at(app, ip) as attacker:
            for n in range(40):
                response = await guess(attacker, oauth_client.client_id, email, f"wrong-{n}")
                trail.append(
                    (response.status_code, response.json(), response.headers.get("Retry-After"))
                )
                clock.advance(0.7)
        clock.advance(-40 * 0.7)
        trails.append(trail)
    assert trails[0] == trails[1]


async def test_a_right_password_clears_the_pair_backoff(
    http: httpx.AsyncClient, admin: User, oauth_client: OAuthClient, clock: FakeClock
) -> None:
    for n in range(POLICY.free_failures - 1):
        await guess(http, oauth_client.client_id, admin.email, f"typo-{n}")
    ok = await guess(http, oauth_client.client_id, admin.email, helpers.PASSWORD)
    assert ok.status_code == 200
    for n in range(POLICY.free_failures - 1):
        again = await guess(http, oauth_client.client_id, admin.email, f"typo-{n}")
        assert outcome(again) == "rejected"


async def test_console_sign_in_shares_the_counters(
    http: httpx.AsyncClient, admin: User, oauth_client: OAuthClient, clock: FakeClock
) -> None:
    for n in range(POLICY.free_failures):
        await guess(http, oauth_client.client_id, admin.email, f"wrong-{n}")
    page = await helpers.login(http, admin.email, "wrong-again-and-again")
    assert page.status_code == 429
    assert int(page.headers["Retry-After"]) >= 1
    assert "Too many failed sign-in attempts" in page.text
    assert "cx_session" not in page.cookies
    clock.advance(POLICY.backoff(POLICY.free_failures))
    signed_in = await helpers.login(http, admin.email)
    assert signed_in.status_code == 303


async def test_unknown_email_costs_one_argon2_verification_like_a_wrong_password(
    http: httpx.AsyncClient,
    platform: Platform,
    admin: User,
    oauth_client: OAuthClient,
    argon2_counter: CountingHasher,
) -> None:
    """Timing reveals nothing: the same work, against a hash of the same cost."""
    from argon2 import extract_parameters

    await guess(http, oauth_client.client_id, admin.email, "wrong-password-here")
    await guess(http, oauth_client.client_id, "ghost@acme.example", "wrong-password-here")
    await helpers.login(http, "ghost2@acme.example", "wrong-password-here")
    assert argon2_counter.verifications == 3
    real, dummy, dummy2 = argon2_counter.verified_hashes
    assert dummy == dummy2 != real
    assert extract_parameters(dummy) == extract_parameters(real)


async def test_a_parallel_burst_is_counted_like_a_sequence(
    http: httpx.AsyncClient,
    platform: Platform,
    admin: User,
    oauth_client: OAuthClient,
    clock: FakeClock,
    argon2_counter: CountingHasher,
) -> None:
    """50 guesses sent at once must not all pass the check before one is counted."""
    responses = await asyncio.gather(
        *(guess(http, oauth_client.client_id, admin.email, f"burst-{n}") for n in range(50))
    )
    outcomes = Counter(outcome(r) for r in responses)
    assert argon2_counter.verifications == POLICY.free_failures
    assert outcomes == {"rejected": POLICY.free_failures, "throttled": 50 - POLICY.free_failures}
    assert len(platform.throttle.pairs) == 0  # no lock left behind


async def test_unreachable_counters_refuse_instead_of_failing(
    http: httpx.AsyncClient,
    platform: Platform,
    admin: User,
    oauth_client: OAuthClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Redis down: a clear 429 with Retry-After, never a 500, and no unchecked guessing."""
    storage = storage_from_string("async+redis://127.0.0.1:1/0", implementation="redispy")
    assert isinstance(storage, Storage)
    monkeypatch.setattr(platform, "throttle", Throttle(storage, lambda _t: POLICY))
    response = await guess(http, oauth_client.client_id, admin.email, helpers.PASSWORD)
    assert response.status_code == 429
    assert response.json()["error"] == "invalid_request"
    assert response.headers["Retry-After"] == "5"
    page = await helpers.login(http, admin.email)
    assert page.status_code == 429


@pytest.mark.parametrize("cost", OTHER_COSTS)
async def test_a_sign_in_that_rehashes_verifies_the_password_once(
    http: httpx.AsyncClient,
    db: AsyncSession,
    admin: User,
    oauth_client: OAuthClient,
    argon2_counter: CountingHasher,
    cost: Cost,
) -> None:
    """The new hash is computed from the password just verified, not checked again."""
    old = await store_hash(db, admin, cost)
    response = await guess(http, oauth_client.client_id, admin.email, helpers.PASSWORD)
    assert response.status_code == 200
    assert argon2_counter.verified_hashes == [old]


async def test_right_passwords_at_once_on_one_pair_are_verified_side_by_side(
    http: httpx.AsyncClient,
    platform: Platform,
    admin: User,
    oauth_client: OAuthClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An application signing one account in from one server is not held to one core."""
    both_verifying = threading.Barrier(2, timeout=10)
    real = platform.passwords._hasher

    class MeetingHasher(CountingHasher):
        def verify(self, stored_hash: str, password: str) -> bool:
            both_verifying.wait()  # breaks (and the request fails) if run one at a time
            return super().verify(stored_hash, password)

    monkeypatch.setattr(platform.passwords, "_hasher", MeetingHasher(real))
    responses = await asyncio.gather(
        *(guess(http, oauth_client.client_id, admin.email, helpers.PASSWORD) for _ in range(2))
    )
    assert [r.status_code for r in responses] == [200, 200]
