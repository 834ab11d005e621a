"""argon2id policy: any hash verifies at its own cost; any other cost needs a rehash."""

from __future__ import annotations

import asyncio
import os

import pytest
from argon2 import Type, extract_parameters
from argon2.low_level import ARGON2_VERSION, hash_secret

from cloudcx.core.passwords import Passwords

PASSWORD = "correct-horse-battery-staple"
# Cheap, but with room on both sides of every parameter.
POLICY = {"time_cost": 2, "memory_kib": 64, "parallelism": 2}


def encoded(
    *,
    time_cost: int = 2,
    memory_kib: int = 64,
    parallelism: int = 2,
    type: Type = Type.ID,
    version: int = ARGON2_VERSION,
    salt_len: int = 16,
    hash_len: int = 32,
) -> str:
    return hash_secret(
        PASSWORD.encode(),
        os.urandom(salt_len),
        time_cost,
        memory_kib,
        parallelism,
        hash_len,
        type,
        version,
    ).decode()


@pytest.fixture(scope="module")
def passwords() -> Passwords:
    return Passwords(**POLICY)


@pytest.mark.parametrize(
    "changed",
    [
        {"time_cost": 3},
        {"time_cost": 1},
        {"memory_kib": 128},
        {"memory_kib": 32},
        {"parallelism": 4},
        {"parallelism": 1},
        {"type": Type.I},
        {"type": Type.D},
        {"version": 0x10},
        {"salt_len": 8},
        {"hash_len": 16},
    ],
    ids=[
        "time-raised",
        "time-lowered",
        "memory-raised",
        "memory-lowered",
        "lanes-raised",
        "lanes-lowered",
        "argon2i",
        "argon2d",
        "argon2-version-1.0",
        "shorter-salt",
        "shorter-tag",
    ],
)
def test_a_hash_of_another_cost_verifies_and_needs_a_rehash(
    passwords: Passwords, changed: dict[str, int]
) -> None:
    stored = encoded(**changed)
    assert passwords.verify(stored, PASSWORD)
    assert passwords.needs_rehash(stored)


def test_a_hash_of_the_policy_needs_no_rehash(passwords: Passwords) -> None:
    assert not passwords.needs_rehash(encoded())
    assert not passwords.needs_rehash(passwords.hash(PASSWORD))


def test_the_dummy_hash_for_unknown_accounts_has_the_policys_cost(passwords: Passwords) -> None:
    """An unknown email must cost exactly what a wrong password costs."""
    assert extract_parameters(passwords._dummy_hash) == extract_parameters(passwords.hash(PASSWORD))


async def test_hashes_in_flight_are_capped_at_the_threads_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading
    import time as clock

    passwords = Passwords(1, 64, 1, threads=2)
    inside, most, lock = 0, 0, threading.Lock()

    def slow_verify(stored_hash: str | None, password: str) -> bool:
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        clock.sleep(0.02)
        with lock:
            inside -= 1
        return True

    monkeypatch.setattr(passwords, "verify", slow_verify)
    results = await asyncio.gather(*(passwords.verify_async(None, "x") for _ in range(6)))
    assert results == [True] * 6
    assert most == 2


def test_serve_gives_each_worker_its_share_of_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from cloudcx import server
    from cloudcx.config import Settings

    monkeypatch.setattr(server.uvicorn, "run", lambda *a, **k: None)
    monkeypatch.setattr(server, "_share_metrics", lambda settings: None)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    # run() sets variables for the worker processes: none may leak into other tests.
    monkeypatch.setattr(os, "environ", dict(os.environ))
    os.environ.pop("CLOUDCX_PASSWORD_HASH_THREADS", None)
    server.run(Settings(), host="127.0.0.1", port=1, workers=4, reload=False)
    assert os.environ["CLOUDCX_PASSWORD_HASH_THREADS"] == "2"
    assert Settings().password_hash_threads == 2
    os.environ["CLOUDCX_PASSWORD_HASH_THREADS"] = "3"  # the operator's choice stays
    server.run(Settings(), host="127.0.0.1", port=1, workers=4, reload=False)
    assert os.environ["CLOUDCX_PASSWORD_HASH_THREADS"] == "3"
