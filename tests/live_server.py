"""A real CloudCX server process for the tests that drive the product from outside.

The browser tests, the client-library tests and the README test talk to
``cloudcx serve`` over TCP on 127.0.0.1, the way users and integrators do, so
they prove the installed command, the migrations applied at start, the first
start's bootstrap and the HTTP stack, not only the ASGI app.

Every wait is bounded: the server must answer ``/healthz`` within
``START_TIMEOUT`` seconds and stop within ``STOP_TIMEOUT`` seconds of SIGTERM,
or it is killed.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

HOST = "127.0.0.1"
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "Live-server-admin-passw0rd"
AGENT_PASSWORD = "Live-server-agent-passw0rd"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
CLI_TIMEOUT = 60.0
# Leaving the settings of the developer's shell out keeps the server on its own
# temporary SQLite database whatever CLOUDCX_DATABASE_URL or .env say.
_SETTINGS_PREFIX = "CLOUDCX_"


def free_port() -> int:
    """A TCP port that was free a moment ago (the caller retries on a clash)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SETTINGS_PREFIX)}
    env.update(
        {
            "CLOUDCX_VAR_DIR": str(var_dir),
            # Explicit, so no .env file in the working directory can point elsewhere.
            "CLOUDCX_DATABASE_URL": f"sqlite+aiosqlite:///{var_dir / 'cloudcx.db'}",
            "CLOUDCX_SECRET_KEY": secrets.token_urlsafe(48),
            "CLOUDCX_BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL,
            "CLOUDCX_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
            # Cheap hashing keeps sign-ins fast; production uses argon2-cffi's defaults.
            "CLOUDCX_ARGON2_TIME_COST": "1",
            "CLOUDCX_ARGON2_MEMORY_KIB": "64",
            "CLOUDCX_ARGON2_PARALLELISM": "1",
            # Users and clients created by the CLI are seen by the server at once.
            "CLOUDCX_CACHE_TTL": "0",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    return env


def http_client(base_url: str, **kwargs: Any) -> httpx.Client:
    """An httpx client that talks to the server directly, whatever proxy is configured."""
    kwargs.setdefault("timeout", 10.0)
    return httpx.Client(base_url=base_url, trust_env=False, **kwargs)


@dataclass
class LiveServer:
    base_url: str
    port: int
    env: dict[str, str]
    workdir: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    admin_email: str = ADMIN_EMAIL
    admin_password: str = ADMIN_PASSWORD

    def url(self, path: str) -> str:
        return self.base_url + path

    def http(self, **kwargs: Any) -> httpx.Client:
        return http_client(self.base_url, **kwargs)

    def cli(self, *args: str) -> str:
        """Run ``cloudcx ARGS`` against the server's database; its standard output."""
        done = subprocess.run(
            [sys.executable, "-m", "cloudcx", *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"cloudcx {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def create_client(self, name: str, description: str = "") -> str:
        """A public OAuth client allowed the password grant; its Client ID."""
        out = self.cli(
            "client", "create", "--tenant", HOST, "--name", name, "--description", description
        )
        return out.strip().splitlines()[-1]

    def create_user(
        self, email: str, password: str = AGENT_PASSWORD, role: str = "agent", name: str = ""
    ) -> None:
        self.cli(
            "user", "create", "--tenant", HOST, "--email", email, "--password", password,
            "--role", role, "--name", name or email.split("@", maxsplit=1)[0].title(),
        )  # fmt: skip

    def password_token(self, client_id: str, login_field: str = "email") -> dict[str, Any]:
        """The guide's token request (``email``) or RFC 6749's (``username``)."""
        with self.http() as http:
            response = http.post(
                "/oauth/token",
                data={
                    login_field: self.admin_email,
                    "password": self.admin_password,
                    "grant_type": "password",
                    "client_id": client_id,
                },
            )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)


def _spawn(workdir: Path, env: dict[str, str], args: Sequence[str]) -> LiveServer:
    port = free_port()
    log_path = workdir / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "cloudcx", "serve", "--host", HOST, "--port", str(port), *args],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return LiveServer(f"http://{HOST}:{port}", port, env, workdir, log_path, process)


def _wait_healthy(server: LiveServer) -> bool:
    """True once /healthz answers 200; False if the process died first."""
    deadline = time.monotonic() + START_TIMEOUT
    with server.http(timeout=2.0) as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                return False
            try:
                if http.get("/healthz").status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"the server did not become healthy in {START_TIMEOUT}s:\n{server.log()}")


def start(
    workdir: Path,
    attempts: int = 3,
    settings: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
) -> LiveServer:
    """Start ``cloudcx serve ARGS`` on a free port with its own temporary SQLite database.

    ``settings`` adds or overrides ``CLOUDCX_*`` variables of the server's environment.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    env = server_env(workdir / "var") | dict(settings or {})
    for _ in range(attempts):
        server = _spawn(workdir, env, args)
        if _wait_healthy(server):
            return server
        # Another process may take the port between free_port() and the bind:
        # only that is worth another attempt.
        if "address already in use" not in server.log().lower():
            break
    raise RuntimeError(f"the server exited during start:\n{server.log()}")


@contextmanager
def running(
    workdir: Path, settings: Mapping[str, str] | None = None, args: Sequence[str] = ()
) -> Iterator[LiveServer]:
    server = start(workdir, settings=settings, args=args)
    try:
        yield server
    finally:
        server.stop()
