"""Immediate revocation across processes (DESIGN.md §4), with two real servers.

Two uvicorn processes share one SQLite file. A token revoked through one is
refused by the other within about a second, although the bearer check on API
requests makes no database query: each process polls the revocations table.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import PASSWORD

pytestmark = pytest.mark.slow

ADMIN = "admin@example.com"
STARTUP_TIMEOUT = 60.0
REVOCATION_DEADLINE = 1.5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def environment(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDCX_")}
    env.update(
        CLOUDCX_VAR_DIR=str(var_dir),
        CLOUDCX_DATABASE_URL=f"sqlite+aiosqlite:///{var_dir / 'cloudcx.db'}",
        CLOUDCX_SECRET_KEY="two-process-test-secret-key-0123456789abcdef",
        CLOUDCX_BOOTSTRAP_ADMIN_EMAIL=ADMIN,
        CLOUDCX_BOOTSTRAP_ADMIN_PASSWORD=PASSWORD,
        CLOUDCX_REVOCATION_POLL_INTERVAL="1.0",
    )
    return env


def wait_healthy(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{base} did not start")


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    env = environment(tmp_path)
    started: list[subprocess.Popen[bytes]] = []
    bases: list[str] = []
    try:
        for _ in range(2):
            port = free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "cloudcx", "serve", "--port", str(port)],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            started.append(process)
            bases.append(f"http://127.0.0.1:{port}")
            # One at a time: the first start migrates and bootstraps the database.
            wait_healthy(bases[-1], process)
        yield bases[0], bases[1], env
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def create_client(env: dict[str, str], cwd: str) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cloudcx",
            "client",
            "create",
            "--tenant",
            "127.0.0.1",
            "--name",
            "App",
        ],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def test_token_revoked_on_one_process_is_refused_by_the_other(
    servers: tuple[str, str, dict[str, str]], tmp_path: Path
) -> None:
    first, second, env = servers
    client_id = create_client(env, str(tmp_path))
    token = httpx.post(
        f"{first}/oauth/token",
        data={
            "grant_type": "password",
            "username": ADMIN,
            "password": PASSWORD,
            "client_id": client_id,
        },
        timeout=10,
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{second}/api/v1/me", headers=headers, timeout=5).status_code == 200

    revoked = httpx.post(
        f"{first}/oauth/revoke", data={"token": token, "client_id": client_id}, timeout=5
    )
    assert revoked.status_code == 200
    start = time.monotonic()
    status = 200
    while time.monotonic() - start < REVOCATION_DEADLINE + 1.0:
        status = httpx.get(f"{second}/api/v1/me", headers=headers, timeout=5).status_code
        if status == 401:
            break
        time.sleep(0.05)
    elapsed = time.monotonic() - start
    assert status == 401
    assert elapsed <= REVOCATION_DEADLINE, f"refused only after {elapsed:.2f} s"
