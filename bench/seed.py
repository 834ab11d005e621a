"""The benchmark's accounts: the user and the two clients every peer server has.

The peers (``shared/peers/common.env``) all serve ``alice@example.com`` with a
public client ``bench-public`` (password grant) and a confidential client
``bench-confidential`` (client credentials, HTTP Basic). CloudCX gives its
clients random identifiers, so the benchmark sets these fixed ones directly in
the database of a throw-away benchmark installation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from cloudcx.accounts import service as accounts
from cloudcx.accounts.models import Role
from cloudcx.core import secrets
from cloudcx.oauth import clients
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from cloudcx.tenancy import service as tenancy


@dataclass(frozen=True)
class Accounts:
    user_email: str = "alice@example.com"
    user_password: str = "correct horse battery staple"
    public_client_id: str = "bench-public"
    confidential_client_id: str = "bench-confidential"
    confidential_client_secret: str = "bench-confidential-secret-0123456789abcdef"

    @classmethod
    def from_env_file(cls, path: Path) -> Accounts:
        """The peers' values, read from their shell file when it is there."""
        if not path.exists():
            return cls()
        found = dict(re.findall(r'^([A-Z_]+)="([^"]*)"', path.read_text(), re.MULTILINE))
        default = cls()
        return cls(
            user_email=found.get("BENCH_USER_EMAIL", default.user_email),
            user_password=found.get("BENCH_USER_PASSWORD", default.user_password),
            public_client_id=found.get("PUBLIC_CLIENT_ID", default.public_client_id),
            confidential_client_id=found.get("CONF_CLIENT_ID", default.confidential_client_id),
            confidential_client_secret=found.get(
                "CONF_CLIENT_SECRET", default.confidential_client_secret
            ),
        )


async def seed(platform: Platform, bench: Accounts, domain: str = "localhost") -> None:
    """Create the user and both clients in the tenant at ``domain`` (idempotent)."""
    async with platform.sessionmaker() as session:
        tenant = await tenancy.find_by_domain(session, domain)
        if tenant is None:
            raise SystemExit(f"no tenant at {domain}")
        if await accounts.find_by_email(session, tenant.id, bench.user_email) is None:
            await accounts.create_user(
                session,
                platform.passwords,
                tenant_id=tenant.id,
                email=bench.user_email,
                password=bench.user_password,
                role=Role.ADMIN,
                name="Alice",
            )
        for client_id, secret, grants in (
            (bench.public_client_id, None, ["password", "refresh_token"]),
            (
                bench.confidential_client_id,
                bench.confidential_client_secret,
                ["client_credentials"],
            ),
        ):
            found = await session.scalar(
                select(OAuthClient).where(OAuthClient.client_id == client_id)
            )
            if found is not None:
                continue
            client = await clients.create_client(
                session, tenant_id=tenant.id, client_name=client_id, description="Benchmark"
            )
            client.client_id = client_id
            client.grant_types = grants
            client.secret_digest = secrets.digest(secret) if secret else None
        await session.commit()
