"""A throw-away CloudCX installation for the benchmark, served as in production."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.seed import Accounts, seed

SECRET = "benchmark-secret-key-" + "k" * 32


@dataclass
class Installation:
    var_dir: Path
    database_url: str = ""  # empty: the embedded SQLite default under var_dir
    accounts: Accounts = field(default_factory=Accounts)

    @property
    def sqlite_url(self) -> str:
        return f"sqlite+aiosqlite:///{self.var_dir / 'cloudcx.db'}"

    @property
    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "CLOUDCX_ENVIRONMENT": "production",
            "CLOUDCX_SECRET_KEY": SECRET,
            "CLOUDCX_VAR_DIR": str(self.var_dir),
            "CLOUDCX_BOOTSTRAP_ADMIN_PASSWORD": "benchmark-admin-password-0123",
            # Counted as always, but high enough that the load is not refused.
            "CLOUDCX_API_RATE_LIMIT": "100000000/minute",
        }
        if self.database_url:
            env["CLOUDCX_DATABASE_URL"] = self.database_url
        return env

    @property
    def cli(self) -> list[str]:
        return [sys.executable, "-m", "cloudcx"]

    def prepare(self) -> None:
        """Schema, first start and the benchmark's user and clients."""
        self.var_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run([*self.cli, "db", "upgrade"], env=self.env, check=True, capture_output=True)
        asyncio.run(self._seed())

    async def _seed(self) -> None:
        from cloudcx.bootstrap import bootstrap
        from cloudcx.config import Settings
        from cloudcx.platform import Platform

        settings = Settings(
            environment="production",
            secret_key=SECRET,
            var_dir=self.var_dir,
            database_url=self.database_url,
            bootstrap_admin_password=self.env["CLOUDCX_BOOTSTRAP_ADMIN_PASSWORD"],
        )
        platform = Platform.build(settings)
        try:
            await bootstrap(platform)
            await seed(platform, self.accounts)
        finally:
            await platform.engine.dispose()

    def command(self, port: int, workers: int) -> list[str]:
        return [*self.cli, "serve", "--port", str(port), "--workers", str(workers)]

    @contextmanager
    def serving(self, port: int, workers: int = 2) -> Iterator[Server]:
        log = (self.var_dir / f"server-{port}.log").open("w")
        process = subprocess.Popen(
            self.command(port, workers), env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        server = Server(f"http://127.0.0.1:{port}", process, self.accounts)
        try:
            server.wait_ready()
            yield server
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]
    accounts: Accounts

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the server did not answer /healthz")

    def password_grant(self) -> dict[str, str]:
        answer = httpx.post(
            f"{self.base}/oauth/token",
            data={
                "grant_type": "password",
                "username": self.accounts.user_email,
                "password": self.accounts.user_password,
                "client_id": self.accounts.public_client_id,
            },
            timeout=30,
        )
        answer.raise_for_status()
        tokens: dict[str, str] = answer.json()
        return tokens

    def worker_pids(self) -> list[int]:
        """The server's worker processes (children of the process started that
        serve requests, not multiprocessing's resource tracker)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            pids = [int(p) for p in children.read_text().split()]
        except OSError:
            return []
        return [p for p in pids if b"spawn_main" in _cmdline(p)]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
