"""Real ``cloudcx serve`` processes for the tests that need one (durability, schemathesis)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "durability-Test-passw0rd"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDCX_")}
    env.update(
        CLOUDCX_VAR_DIR=str(var_dir),
        CLOUDCX_SECRET_KEY="durability-secret-key-0123456789-abcdefghij",
        CLOUDCX_BOOTSTRAP_ADMIN_PASSWORD=ADMIN_PASSWORD,
        CLOUDCX_ARGON2_TIME_COST="1",
        CLOUDCX_ARGON2_MEMORY_KIB="64",
        CLOUDCX_ARGON2_PARALLELISM="1",
    )
    return env


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "cloudcx", *args]


def wait_until_healthy(base: str, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError("server exited during start")
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("server did not start")


@contextmanager
def running_server(var_dir: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """A server on 127.0.0.1:``port`` (never 8000) over SQLite in ``var_dir``."""
    proc = subprocess.Popen(
        command("serve", "--port", str(port)),
        env=server_env(var_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", proc)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
