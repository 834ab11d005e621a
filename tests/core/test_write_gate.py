"""The write gate: SQLite writers one at a time, within and across processes."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sys
import time
from pathlib import Path

import pytest

from cloudcx.db import WriteGate


async def test_writers_of_one_process_take_turns(tmp_path: Path) -> None:
    gate = WriteGate.for_url(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite")
    inside, most = 0, 0

    async def write() -> None:
        nonlocal inside, most
        async with gate():
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(write() for _ in range(5)))
    assert most == 1
    assert (tmp_path / "db.sqlite.write-lock").exists()


def test_the_gate_is_open_on_postgresql() -> None:
    gate = WriteGate.for_url("postgresql+asyncpg://u@h/db")
    assert gate._lock is None


HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


async def hold(lock_file: Path, seconds: float) -> asyncio.subprocess.Process:
    """Another process holding the lock for ``seconds``, once it says it holds it."""
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, str(lock_file), str(seconds), stdout=asyncio.subprocess.PIPE
    )
    assert holder.stdout is not None
    assert (await holder.stdout.readline()).strip() == b"locked"
    return holder


async def test_a_writer_waits_for_another_process_and_goes_on_when_it_lets_go(
    tmp_path: Path,
) -> None:
    gate = WriteGate.for_url(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite")
    holder = await hold(tmp_path / "db.sqlite.write-lock", seconds=0.5)
    try:
        started = time.monotonic()
        async with gate():
            waited = time.monotonic() - started
    finally:
        await holder.wait()
    assert 0.2 < waited < 5


async def test_a_writer_cancelled_while_waiting_leaves_the_lock_free(tmp_path: Path) -> None:
    gate = WriteGate.for_url(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite")
    lock_file = tmp_path / "db.sqlite.write-lock"
    holder = await hold(lock_file, seconds=0.5)
    try:

        async def write() -> None:
            async with gate():
                pytest.fail("the cancelled writer must not enter")

        task = asyncio.create_task(write())
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await holder.wait()
    fd = os.open(lock_file, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if still held
    finally:
        os.close(fd)
