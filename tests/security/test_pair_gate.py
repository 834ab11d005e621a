"""Attempts on one pair overlap only as far as a run of them one by one would allow."""

from __future__ import annotations

import asyncio

import pytest

from cloudcx.security.pair_gate import PairGate

FREE_FAILURES = 5


@pytest.mark.parametrize(
    ("counted", "most_at_once"),
    [(0, 4), (3, 2), (4, 1), (5, 1), (12, 1)],
    ids=["no-failure-yet", "two-free-left", "one-free-left", "none-left", "backing-off"],
)
async def test_attempts_in_flight_never_exceed_the_free_failures_left(
    counted: int, most_at_once: int
) -> None:
    gate = PairGate()
    running: list[int] = []
    release = asyncio.Event()

    async def check() -> int:
        return counted

    async def attempt() -> None:
        async with gate.enter("pair", check, FREE_FAILURES):
            running.append(1)
            await release.wait()

    tasks = [asyncio.create_task(attempt()) for _ in range(4)]
    for _ in range(20):
        await asyncio.sleep(0)
    assert len(running) == most_at_once
    release.set()
    await asyncio.gather(*tasks)
    assert len(running) == 4
    assert len(gate) == 0


async def test_a_waiting_attempt_is_checked_again_once_the_others_are_done() -> None:
    """The failures of those in flight are counted before it may start."""
    gate = PairGate()
    counted = 4
    checks: list[int] = []

    async def check() -> int:
        checks.append(counted)
        if counted >= FREE_FAILURES:
            raise RuntimeError("refused")
        return counted

    first_in = asyncio.Event()
    fail_first = asyncio.Event()

    async def first() -> None:
        nonlocal counted
        async with gate.enter("pair", check, FREE_FAILURES):
            first_in.set()
            await fail_first.wait()
            counted += 1  # it failed, and the failure is counted

    async def second() -> None:
        async with gate.enter("pair", check, FREE_FAILURES):
            pytest.fail("admitted past the free failures")

    one = asyncio.create_task(first())
    await first_in.wait()
    two = asyncio.create_task(second())
    for _ in range(20):
        await asyncio.sleep(0)
    fail_first.set()
    await one
    with pytest.raises(RuntimeError, match="refused"):
        await two
    assert checks == [4, 4, 5]
    assert len(gate) == 0
