"""Settings: one pydantic-settings class, read from ``CLOUDCX_*`` variables.

The embedded default (SQLite under ``./var``) needs no configuration at all.
Outside development the class refuses the insecure defaults that make the
embedded mode convenient, so a production deployment cannot start half-configured.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_KEY_FILE = "secret_key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLOUDCX_", env_file=".env", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    var_dir: Path = Path("var")
    database_url: str = ""
    redis_url: str | None = None
    secret_key: str | None = Field(default=None, repr=False)

    # Applied at start on the embedded default; `cloudcx db upgrade` otherwise.
    auto_migrate: bool | None = None

    bootstrap_admin_email: str = "admin@example.com"
    bootstrap_admin_password: str | None = Field(default=None, repr=False)

    access_token_ttl: int = Field(default=3600, ge=60, le=86400)
    refresh_token_ttl: int = Field(default=30 * 86400, ge=3600)
    authorization_code_ttl: int = Field(default=60, ge=10, le=600)
    session_ttl: int = Field(default=12 * 3600, ge=300)
    signing_alg: Literal["RS256", "ES256", "PS256"] = "RS256"

    # argon2id cost: the minimum configuration of the OWASP Password Storage
    # Cheat Sheet ("19 MiB of memory, an iteration count of 2, and 1 degree of
    # parallelism"). With one lane a hash keeps one core busy, so a server
    # verifies as many passwords at once as it has cores. A stored hash of
    # another cost is rehashed at its user's next sign-in (accounts/service.py).
    # https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_memory_kib: int = Field(default=19456, ge=8)
    argon2_parallelism: int = Field(default=1, ge=1)

    # Addresses whose X-Forwarded-* headers are believed (comma separated IPs).
    trusted_proxies: str = ""
    # Peer addresses (IPs or CIDRs, comma separated) that may read /metrics (ops/routes.py).
    metrics_allow: str = "127.0.0.1,::1"
    # One line per record: "json" or "text"; unset, text on a terminal and JSON otherwise.
    log_format: Literal["json", "text"] | None = None
    # How long a process keeps its view of tenants and keys before re-reading.
    cache_ttl: float = Field(default=5.0, ge=0)
    # How often each process pulls new revocations from the database.
    revocation_poll_interval: float = Field(default=1.0, gt=0)
    # API requests allowed per caller (client and user, or API key), in `limits` notation.
    api_rate_limit: str = "600/minute"
    # How long a POST's Idempotency-Key is remembered, in seconds.
    idempotency_ttl: int = Field(default=86400, ge=60)

    # Brute-force defence of sign-in (security/throttle.py): failures allowed
    # per window, per (account, IP) pair, per IP and per account.
    signin_window: int = Field(default=900, ge=1)
    signin_free_failures: int = Field(default=5, ge=1)
    signin_pair_limit: int = Field(default=20, ge=1)
    signin_ip_limit: int = Field(default=100, ge=1)
    signin_account_limit: int = Field(default=200, ge=1)
    signin_backoff_max: int = Field(default=60, ge=1)
    # Audit events older than this many days are deleted (audit/service.py).
    audit_retention_days: int = Field(default=365, ge=1)
    # Request size caps (security/limits.py): API bodies, form bodies, JSON nesting.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_form_bytes: int = Field(default=64 * 1024, ge=1024)
    max_json_depth: int = Field(default=32, ge=2)
    # HTTP connection limits (server.py), enforced before the app sees a request.
    # The request line and headers together: past this the answer is 431.
    max_header_bytes: int = Field(default=16 * 1024, ge=1024, le=1024 * 1024)
    # Seconds a client has to send a whole request line and headers, counted from
    # the connection's opening or from the first byte of a later request.
    header_timeout: int = Field(default=10, ge=1, le=300)
    # Seconds a client has to send a whole body once its headers arrived (408 after).
    # One deadline, not an idle timer, so a body trickled byte by byte is cut too.
    body_timeout: int = Field(default=30, ge=1, le=3600)
    # Seconds an idle connection is kept open between requests.
    keep_alive_timeout: int = Field(default=5, ge=1, le=300)
    # Open connections one worker process serves; requests on more answer 503.
    max_connections: int = Field(default=1000, ge=1)

    @field_validator("metrics_allow")
    @classmethod
    def _valid_networks(cls, value: str) -> str:
        _networks(value)
        return value

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Settings:
        if self.environment == "production":
            if not self.secret_key or len(self.secret_key) < 32:
                raise ValueError(
                    "CLOUDCX_SECRET_KEY must be set to at least 32 characters in production"
                )
            if (
                self.bootstrap_admin_password is not None
                and len(self.bootstrap_admin_password) < 12
            ):
                raise ValueError("CLOUDCX_BOOTSTRAP_ADMIN_PASSWORD must have 12+ characters")
        return self

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.var_dir / 'cloudcx.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    @property
    def should_auto_migrate(self) -> bool:
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate

    @cached_property
    def resolved_secret_key(self) -> str:
        """The master secret; on the embedded default it is generated once into ./var."""
        if self.secret_key:
            return self.secret_key
        return _load_or_create_secret(self.var_dir / SECRET_KEY_FILE)

    @property
    def trusted_proxy_set(self) -> frozenset[str]:
        return frozenset(p.strip() for p in self.trusted_proxies.split(",") if p.strip())

    @cached_property
    def metrics_networks(self) -> tuple[IPNetwork, ...]:
        return _networks(self.metrics_allow)


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(value: str) -> tuple[IPNetwork, ...]:
    try:
        return tuple(ipaddress.ip_network(p.strip()) for p in value.split(",") if p.strip())
    except ValueError as exc:
        raise ValueError(f"CLOUDCX_METRICS_ALLOW: {exc}") from None


def _load_or_create_secret(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    value = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting together must not write different secrets.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value
