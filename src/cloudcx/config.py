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

    environment: Literal["development", "production", "test"] = Field(
        default="development",
        description="`production` refuses to start without a secret key of 32+ characters.",
    )
    var_dir: Path = Field(
        default=Path("var"),
        description="Where the embedded SQLite database and the generated secret key live.",
    )
    database_url: str = Field(
        default="",
        description=(
            "SQLAlchemy URL of the database; empty means SQLite at `<var_dir>/cloudcx.db`. "
            "`postgresql+asyncpg://user@host/db` in production."
        ),
    )
    db_pool_size: int = Field(
        default=20,
        ge=1,
        le=1000,
        description=(
            "Database connections each process keeps open. Keep it at least the usual number "
            "of concurrent requests per process: a connection opened and closed per request "
            "costs more than the request."
        ),
    )
    db_max_overflow: int = Field(
        default=10,
        ge=0,
        le=1000,
        description="Connections a process may open beyond `db_pool_size` in a burst, "
        "closed again when returned.",
    )
    sqlite_cache_kib: int = Field(
        default=2000,
        ge=64,
        le=1_048_576,
        description=(
            "SQLite's page cache per database connection, in KiB (SQLite's own default). A "
            "process's memory grows as its connections fill their caches, up to this times "
            "`db_pool_size` + `db_max_overflow`, then stays flat. Ignored on PostgreSQL."
        ),
    )
    redis_url: str | None = Field(
        default=None,
        description=(
            "Redis for the rate-limit and sign-in counters every process shares and for "
            "change notifications between processes; required when several processes serve."
        ),
    )
    secret_key: str | None = Field(
        default=None,
        repr=False,
        description=(
            "Master secret: encrypts the token signing keys in the database and keys the "
            "CSRF tokens. Unset: generated once into `<var_dir>/secret_key` (mode 0600). "
            "Every process of a deployment needs the same value."
        ),
    )

    auto_migrate: bool | None = Field(
        default=None,
        description=(
            "Apply pending migrations when `cloudcx serve` starts. Unset: yes on SQLite, "
            "no elsewhere (run `cloudcx db upgrade`; `serve` refuses an old schema)."
        ),
    )

    bootstrap_admin_email: str = Field(
        default="admin@example.com",
        description="Email of the administrator the first start creates.",
    )
    bootstrap_admin_password: str | None = Field(
        default=None,
        repr=False,
        description="Password of that administrator; unset: a random one is printed once.",
    )

    access_token_ttl: int = Field(
        default=3600,
        ge=60,
        le=86400,
        description="Access-token lifetime in seconds (a client may set its own).",
    )
    token_leeway: int = Field(
        default=5,
        ge=0,
        le=10,
        description=(
            "Seconds an access token is still accepted after it expires (or before it "
            "was issued), for servers whose clocks disagree slightly."
        ),
    )
    refresh_token_ttl: int = Field(
        default=30 * 86400,
        ge=3600,
        description="Refresh-token lifetime in seconds (a client may set its own).",
    )
    authorization_code_ttl: int = Field(
        default=60, ge=10, le=600, description="Authorization-code lifetime in seconds."
    )
    par_request_ttl: int = Field(
        default=60,
        ge=10,
        le=600,
        description=(
            "Seconds a request pushed to `/oauth/par` can be used at the authorization "
            "endpoint (its `request_uri`'s `expires_in`)."
        ),
    )
    session_ttl: int = Field(
        default=12 * 3600, ge=300, description="Control Panel session lifetime in seconds."
    )
    signing_alg: Literal["RS256", "ES256", "PS256"] = Field(
        default="RS256",
        description=(
            "JWS algorithm of new access-token signing keys (existing keys keep theirs). "
            "OpenID Connect ID tokens also need RS256: with ES256 or PS256 an RS256 key is "
            "kept beside it."
        ),
    )
    # DPoP (RFC 9449, oauth/dpop*.py): how long a proof is good for, and nonces.
    dpop_proof_max_age: int = Field(
        default=60,
        ge=5,
        le=600,
        description=(
            "Seconds after its `iat` a DPoP proof is still accepted; each proof's `jti` is "
            "remembered this long (plus the skew) so that it cannot be used twice."
        ),
    )
    dpop_clock_skew: int = Field(
        default=5,
        ge=0,
        le=60,
        description="Seconds a DPoP proof's `iat` may be ahead of the server's clock.",
    )
    dpop_nonce_required: bool = Field(
        default=False,
        description=(
            "Require a server nonce in every DPoP proof, at the token endpoint and the API "
            "(RFC 9449 §8, §9): a proof without a current one is answered `use_dpop_nonce` "
            "with a `DPoP-Nonce` header. Off: proofs are limited by `iat` and `jti` alone."
        ),
    )
    dpop_nonce_lifetime: int = Field(
        default=300,
        ge=30,
        le=3600,
        description=(
            "Seconds in which the server issues one DPoP nonce; a nonce is accepted until "
            "the end of the next such period. Every process accepts every other's."
        ),
    )

    # argon2id cost: the minimum configuration of the OWASP Password Storage
    # Cheat Sheet ("19 MiB of memory, an iteration count of 2, and 1 degree of
    # parallelism"). With one lane a hash keeps one core busy, so a server
    # verifies as many passwords at once as it has cores. A stored hash of
    # another cost is rehashed at its user's next sign-in (accounts/service.py).
    # https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html
    argon2_time_cost: int = Field(
        default=2, ge=1, description="argon2id passes over memory for each password hash."
    )
    argon2_memory_kib: int = Field(
        default=19456, ge=8, description="argon2id memory per password hash, in KiB (19 MiB)."
    )
    argon2_parallelism: int = Field(
        default=1,
        ge=1,
        description="argon2id lanes per password hash (1: a core verifies one password at a time).",
    )
    password_hash_threads: int | None = Field(
        default=None,
        ge=1,
        le=256,
        description=(
            "Password hashes a process computes at once. Empty: the machine's cores divided "
            "by the `serve` worker processes, so that together they keep every core busy "
            "without more hashes in flight than cores (each uses 19 MiB of memory bandwidth)."
        ),
    )

    trusted_proxies: str = Field(
        default="",
        description=(
            "Comma-separated addresses of proxies whose `X-Forwarded-For`, `-Proto`, "
            "`-Host` and `X-Request-ID` headers are believed (the load balancer's address "
            "as the app sees it)."
        ),
    )
    metrics_allow: str = Field(
        default="127.0.0.1,::1",
        description=(
            "Peer addresses or networks (comma separated, e.g. `10.0.0.0/8`) that may read "
            "`/metrics`; anyone else, a proxied request or a tenant's host gets 404."
        ),
    )
    log_format: Literal["json", "text"] | None = Field(
        default=None,
        description=(
            "`json` or `text`: one line per log record, one per request; empty means text "
            "on a terminal and JSON otherwise (`serve --log-format`)."
        ),
    )
    cache_ttl: float = Field(
        default=5.0,
        ge=0,
        description=(
            "Seconds a process keeps tenants and signing keys it read before reading "
            "them again (changes made by the same process apply at once)."
        ),
    )
    revocation_poll_interval: float = Field(
        default=1.0,
        gt=0,
        description="Seconds between two reads of new revocations from the database.",
    )
    api_rate_limit: str = Field(
        default="600/minute",
        description=(
            "API requests per caller (client and user, or API key) in `limits` notation, "
            "e.g. `100/second`; counted in Redis when `CLOUDCX_REDIS_URL` is set."
        ),
    )
    revoke_rate_limit: str = Field(
        default="300/minute",
        description=(
            "`/oauth/revoke` requests per client and address, in `limits` notation; "
            "counted in Redis when `CLOUDCX_REDIS_URL` is set."
        ),
    )
    par_rate_limit: str = Field(
        default="300/minute",
        description=(
            "`/oauth/par` requests per client and address, in `limits` notation; "
            "counted in Redis when `CLOUDCX_REDIS_URL` is set."
        ),
    )
    housekeeping_interval: float = Field(
        default=3600.0,
        gt=0,
        description=(
            "Seconds between runs of housekeeping and audit retention "
            "(one process at a time runs them)."
        ),
    )
    shutdown_timeout: int = Field(
        default=20,
        ge=1,
        le=3600,
        description="Seconds a stopping server waits for open requests before cutting them off.",
    )
    idempotency_ttl: int = Field(
        default=86400, ge=60, description="Seconds a POST's `Idempotency-Key` is remembered."
    )

    # Brute-force defence of sign-in (security/throttle.py): failures allowed
    # per window, per (account, IP) pair, per IP and per account.
    signin_window: int = Field(
        default=900, ge=1, description="Seconds over which sign-in failures are counted."
    )
    signin_free_failures: int = Field(
        default=5,
        ge=1,
        description="Failures of one account from one address before each attempt waits.",
    )
    signin_pair_limit: int = Field(
        default=20,
        ge=1,
        description="Failures of one account from one address in a window before refusal.",
    )
    signin_ip_limit: int = Field(
        default=100,
        ge=1,
        description=(
            "Failures from one address at one tenant, any account, in a window before "
            "that tenant refuses the address."
        ),
    )
    signin_platform_ip_limit: int = Field(
        default=500,
        ge=1,
        description=(
            "Failures from one address at all tenants together in a window before it is "
            "refused everywhere (`CLOUDCX_SIGNIN_IP_LIMIT` counts one tenant's)."
        ),
    )
    signin_device_cookie_days: int = Field(
        default=30,
        ge=0,
        le=400,
        description=(
            "Days a Control Panel device cookie lasts; while presented, its account may "
            "still sign in when its address is refused (0: no device cookies)."
        ),
    )
    signin_account_limit: int = Field(
        default=200,
        ge=1,
        description=(
            "Failures of one account from all addresses in a window, after which every "
            "attempt is answered like a wrong password."
        ),
    )
    signin_backoff_max: int = Field(
        default=60, ge=1, description="Longest wait, in seconds, between two attempts."
    )
    audit_retention_days: int = Field(
        default=365, ge=1, description="Audit events older than this many days are deleted."
    )
    # Webhooks (webhooks/): delivery workers, retries and the SSRF defence.
    webhook_worker_in_server: bool | None = Field(
        default=None,
        description=(
            "Deliver webhooks from inside `cloudcx serve`. Unset: yes on SQLite, no "
            "elsewhere (run `cloudcx worker` processes)."
        ),
    )
    webhook_timeout: float = Field(
        default=10.0,
        gt=0,
        le=60,
        description="Seconds a webhook receiver has to answer (connect, send and read).",
    )
    webhook_retry_hours: float = Field(
        default=24.0,
        gt=0,
        le=24 * 7,
        description="Hours a failing delivery is retried (exponential backoff with jitter).",
    )
    webhook_pause_after_hours: float = Field(
        default=24.0,
        gt=0,
        le=24 * 30,
        description="Hours of failures with no success after which an endpoint is paused.",
    )
    webhook_concurrency: int = Field(
        default=64,
        ge=1,
        le=10000,
        description="Deliveries one worker sends at once, all endpoints together.",
    )
    webhook_endpoint_concurrency: int = Field(
        default=4,
        ge=1,
        le=100,
        description=(
            "Deliveries one worker sends at once to a single endpoint, so a slow one "
            "never holds every slot."
        ),
    )
    webhook_poll_interval: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description=(
            "Seconds between two looks at the outbox (a server's own commits wake its "
            "worker at once)."
        ),
    )
    webhook_allowed_networks: str = Field(
        default="",
        description=(
            "Comma-separated networks (e.g. `10.1.0.0/16`) webhooks may be delivered to "
            "although not public; every private, loopback, link-local and metadata "
            "address is refused otherwise."
        ),
    )
    webhook_allow_http_loopback: bool = Field(
        default=False,
        description=(
            "Allow `http://` webhook URLs whose address is loopback, for development; "
            "every other URL must be `https://`."
        ),
    )
    webhook_log_retention_days: int = Field(
        default=30, ge=1, description="Days webhook deliveries and their attempts are kept."
    )
    # Request size caps (security/limits.py): API bodies, form bodies, JSON nesting.
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest API request body (413 beyond)."
    )
    max_form_bytes: int = Field(
        default=64 * 1024,
        ge=1024,
        description=(
            "Largest Control Panel and OAuth form body (the token endpoint stops at 16 KiB)."
        ),
    )
    max_json_depth: int = Field(
        default=32, ge=2, description="Deepest nesting of a JSON API body (422 beyond)."
    )
    # HTTP connection limits (server.py), enforced before the app sees a request.
    max_header_bytes: int = Field(
        default=16 * 1024,
        ge=1024,
        le=1024 * 1024,
        description="Request line and headers together; one byte more is answered 431.",
    )
    # Counted from the connection's opening or from the first byte of a later request.
    header_timeout: int = Field(
        default=10,
        ge=1,
        le=300,
        description="Seconds to send the request line and headers; then the connection is closed.",
    )
    # One deadline, not an idle timer, so a body trickled byte by byte is cut too.
    body_timeout: int = Field(
        default=30,
        ge=1,
        le=3600,
        description="Seconds to send the whole body once the headers are in (408 after).",
    )
    keep_alive_timeout: int = Field(
        default=5, ge=1, le=300, description="Seconds an idle connection is kept open."
    )
    max_connections: int = Field(
        default=1000,
        ge=1,
        description="Open connections one worker process serves; a request on one more gets 503.",
    )

    @field_validator("metrics_allow")
    @classmethod
    def _valid_networks(cls, value: str) -> str:
        _networks(value)
        return value

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _valid_webhook_networks(cls, value: str) -> str:
        _networks(value, "CLOUDCX_WEBHOOK_ALLOWED_NETWORKS")
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

    @cached_property
    def webhook_networks(self) -> tuple[IPNetwork, ...]:
        return _networks(self.webhook_allowed_networks, "CLOUDCX_WEBHOOK_ALLOWED_NETWORKS")

    @property
    def webhooks_in_server(self) -> bool:
        if self.webhook_worker_in_server is None:
            return self.is_sqlite
        return self.webhook_worker_in_server


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(value: str, name: str = "CLOUDCX_METRICS_ALLOW") -> tuple[IPNetwork, ...]:
    try:
        return tuple(ipaddress.ip_network(p.strip()) for p in value.split(",") if p.strip())
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


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
