"""First start: the default tenant, its first administrator and a signing key.

Runs before the server accepts requests. It creates the default tenant only
when there is no tenant at all, so later starts never print or reset anything.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select

from cloudcx.accounts import service as accounts
from cloudcx.accounts.models import Role
from cloudcx.audit.service import Action, Actor, Target, record
from cloudcx.oauth import keys
from cloudcx.platform import Platform
from cloudcx.tenancy.models import Tenant
from cloudcx.tenancy.service import create_tenant

DEFAULT_TENANT_NAME = "CloudCX"
DEFAULT_DOMAINS = ("localhost", "127.0.0.1")


@dataclass(frozen=True)
class BootstrapResult:
    created: bool
    admin_email: str = ""
    # Set only when the password was generated and must be shown once.
    generated_password: str | None = None


async def bootstrap(platform: Platform) -> BootstrapResult:
    settings = platform.settings
    async with platform.sessionmaker() as session:
        await keys.ensure_key(session, settings.resolved_secret_key, settings.signing_alg)
        if await session.scalar(select(func.count()).select_from(Tenant)):
            await session.commit()
            return BootstrapResult(created=False)
        password = settings.bootstrap_admin_password
        generated = None
        if not password:
            generated = password = secrets.token_urlsafe(15)
        tenant = await create_tenant(session, DEFAULT_TENANT_NAME, list(DEFAULT_DOMAINS))
        admin = await accounts.create_user(
            session,
            platform.passwords,
            tenant_id=tenant.id,
            email=settings.bootstrap_admin_email,
            password=password,
            role=Role.ADMIN,
            name="Administrator",
        )
        await record(
            session,
            tenant_id=tenant.id,
            action=Action.USER_CREATED,
            actor=Actor.system("first start"),
            target=Target.of_user(admin),
            details={"role": Role.ADMIN.value},
        )
        await session.commit()
    return BootstrapResult(
        created=True, admin_email=settings.bootstrap_admin_email, generated_password=generated
    )
