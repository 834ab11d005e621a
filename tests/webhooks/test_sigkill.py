"""A server SIGKILLed while a delivery is in flight loses no event: sent after restart."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from tests import servers
from tests.webhooks.conftest import Receiver, verify

pytestmark = pytest.mark.slow

TIMEOUT = 3  # the receiver's time to answer; a lost attempt is retried after 2 * 3 + 5 s
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_SECRET = re.compile(r'value="(whsec_[^"]+)"')


def _env(var_dir: Path) -> dict[str, str]:
    env = servers.server_env(var_dir)
    env.update(CLOUDCX_WEBHOOK_ALLOW_HTTP_LOOPBACK="true", CLOUDCX_WEBHOOK_TIMEOUT=str(TIMEOUT))
    return env


def _start(var_dir: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        servers.command("serve", "--port", str(port)),
        env=_env(var_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    servers.wait_until_healthy(f"http://127.0.0.1:{port}", proc)
    return proc


async def _post_form(client: httpx.AsyncClient, url: str, data: dict[str, str]) -> httpx.Response:
    page = await client.get(url)
    match = _CSRF.search(page.text)
    assert match, page.text
    return await client.post(url, data={"csrf_token": match.group(1), **data})


async def _wait_for(condition: Callable[[], object], seconds: float) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_sigkill_between_commit_and_delivery_loses_no_event(
    tmp_path: Path, receiver: Receiver
) -> None:
    port = servers.free_port()
    proc = _start(tmp_path, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            login = {"email": servers.ADMIN_EMAIL, "password": servers.ADMIN_PASSWORD}
            assert (await _post_form(client, "/login", login)).status_code == 303
            hook = {
                "name": "Sync",
                "url": receiver.url("/hang"),
                "events": "contact.created",
                "enabled": "on",
            }
            created = await _post_form(client, "/settings/integrations/webhooks/new", hook)
            assert created.status_code == 303, created.text
            shown = await client.get(created.headers["location"])  # the secret, shown once
            secret = _SECRET.search(shown.text)
            assert secret, shown.text
            made = await _post_form(client, "/contacts/new", {"first_name": "Ada"})
            assert made.status_code == 303  # committed, with its event
        await _wait_for(lambda: receiver.on("/hang"), 10)  # the delivery is in flight
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    receiver.release.set()  # from now on the receiver answers 200 at once
    proc = _start(tmp_path, port)
    try:
        await _wait_for(lambda: len(receiver.on("/hang")) >= 2, 2 * TIMEOUT + 20)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    first, second = receiver.on("/hang")[:2]
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    assert verify(secret.group(1), second)["type"] == "contact.created"
    db = sqlite3.connect(tmp_path / "cloudcx.db")
    try:
        deliveries = db.execute("SELECT status, attempts FROM webhook_deliveries").fetchall()
        logged = db.execute("SELECT attempt, success FROM webhook_attempts").fetchall()
    finally:
        db.close()
    assert deliveries == [("delivered", 2)]
    assert logged == [(2, 1)]  # the first attempt died with the process, unrecorded
